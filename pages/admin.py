"""The admin console: one tab per page, all behind the staff login (dashboard.py mounts it at /admin with our own
sign-in, onboarding.api.staff, so `request.username` is the signed-in staff member).

The open tab is in the URL (`/admin/?tab=review`), with each page's own view (filters, month, profile) beside it,
so a link opens the same view for whoever follows it.
"""

from __future__ import annotations

import gradio as gr

from onboarding.settings import Settings
from pages import funnel, latency, profiles, queue, rooms, status, usage, webhooks

TITLE = "Voice Onboarding Console — admin"
TABS = [("Rooms", "rooms", rooms), ("Profiles", "profiles", profiles), ("Review queue", "review", queue),
        ("Funnel", "funnel", funnel), ("Latency", "latency", latency), ("Usage & cost", "usage", usage),
        ("Webhooks", "webhooks", webhooks), ("Status", "status", status)]
# a tab picked by hand goes into the URL; the selection Gradio makes while the page starts does not, or it would
# overwrite the tab the URL asked for before the page read it
TAB_URL_JS = """() => {{ if (!window.__consoleTabReady) return;
  const url = new URL(window.location); url.searchParams.set('tab', '{tab}'); history.replaceState(null, '', url); }}"""
TAB_READY_JS = "() => { window.__consoleTabReady = true; }"


def build(settings: Settings) -> gr.Blocks:
    with gr.Blocks(title=TITLE) as page:
        with gr.Row():
            gr.Markdown(f"# {TITLE}")
            signed_in = gr.Markdown("", elem_id="signed-in")
            gr.HTML('<p style="text-align:right"><a href="/">Talk to the agent</a> · '
                    '<a href="/admin/logout" id="log-out">Log out</a></p>')
        with gr.Tabs() as tabs:
            for label, tab_id, module in TABS:
                with gr.Tab(label, id=tab_id) as tab:
                    module.build(settings, page)
                tab.select(None, None, None, js=TAB_URL_JS.format(tab=tab_id))

        def tab_from_url(request: gr.Request):
            wanted = dict(request.query_params).get("tab") if request is not None else None
            return gr.Tabs(selected=wanted) if wanted in {tab_id for _, tab_id, _ in TABS} else gr.skip()

        page.load(tab_from_url, None, tabs).then(None, None, None, js=TAB_READY_JS)
        page.load(signed_in_as, None, signed_in)
    return page


def signed_in_as(request: gr.Request) -> str:
    return f"Signed in as `{request.username}`" if request.username else ""
