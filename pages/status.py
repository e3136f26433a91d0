"""Status tab: says whether the stack is up — LiveKit server, agent worker, database — and what to do if not."""

from __future__ import annotations

import gradio as gr

from onboarding.admin.status import stack_checks
from onboarding.ops.checks import Check
from onboarding.settings import Settings


def render(checks: list[Check]) -> str:
    rows = "\n".join(f"| {c.status.upper() if c.ok else 'DOWN'} | {c.name} | {c.detail} |" for c in checks)
    headline = "**The stack is up.**" if all(c.ok for c in checks) else "**Something is not running.**"
    return f"{headline}\n\n| State | Part | Detail |\n|---|---|---|\n{rows}"


def build(settings: Settings, page: gr.Blocks) -> None:
    async def refresh() -> str:
        return render(await stack_checks(settings))

    status = gr.Markdown("Checking…", elem_id="stack-status")
    gr.Button("Refresh").click(refresh, outputs=status)
    gr.Timer(10).tick(refresh, outputs=status, show_progress="hidden")
    page.load(refresh, outputs=status)
