"""The voice widget inside any Gradio Blocks, with the original design's `onComplete(profile)` as a Python callback.

    with gr.Blocks() as demo:
        voice_widget(settings, user_id="user_123", on_complete=lambda profile: print(profile["fields"]))

The same static/voice-widget.js as the talk page and the drop-in; the callback gets the profile as stored
in the database for the widget's room (not what the browser claims), once that call has completed. The page
proves the room is its own with the caller's LiveKit token (identity and room checked, as the profile route
does), so a visitor cannot have `on_complete` run for another caller's room by sending its name.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import gradio as gr
from fastapi import HTTPException

from onboarding.api.callers import own_call
from onboarding.livekit_admin import InvalidRequest, check_room_name
from onboarding.settings import Settings

WIDGET_HEAD = (
    '<link rel="stylesheet" href="/static/voice-widget.css">'
    '<script src="/vendor/livekit-client.umd.js"></script>'
    '<script src="/static/voice-widget.js"></script>'
)
MOUNT_JS = "window.VoiceOnboarding && window.VoiceOnboarding.mountAll(element);"
# The widget keeps the caller's token on its element (never in the event): the server checks it owns the room.
CALLBACK_JS = MOUNT_JS + (
    "element.addEventListener('onboarding-complete', (e) => {"
    " const widget = e.target.voiceOnboarding;"
    " server.onboarding_complete(e.detail.roomName, widget ? widget.token : ''); });"
)


def widget_html(*, user_id: str = "", agent_timeout: float = 20.0) -> str:
    """The one element the widget needs; the server picks the room, so every tab gets its own."""
    user = f' data-user-id="{html.escape(user_id, quote=True)}"' if user_id else ""
    return f'<div id="voice-onboarding" data-voice-onboarding data-agent-timeout="{agent_timeout:g}"{user}></div>'


def stored_profile(settings: Settings, room_name: str, token: str) -> dict[str, Any] | None:
    """The completed call's profile for the caller's own room, or None (unknown room, another caller's token,
    not completed yet)."""
    try:
        check_room_name(settings, room_name)
        record = own_call(settings, room_name, token or None)
    except (InvalidRequest, HTTPException):
        return None
    if record.call.status != "completed":
        return None
    return {"roomName": room_name, "profileId": record.profile.id, "userId": record.call.user_id,
            "fields": dict(record.profile.answers), "flagged": list(record.profile.flagged),
            "completed": record.profile.completed}


def voice_widget(settings: Settings, *, user_id: str = "",
                 on_complete: Callable[[dict[str, Any]], Any] | None = None, elem_id: str = "talk-widget") -> gr.HTML:
    """Add the widget to the current Blocks; `on_complete(profile)` runs on the server when a call completes."""
    server_functions = None
    if on_complete is not None:
        def onboarding_complete(room_name: str, token: str) -> bool:
            profile = stored_profile(settings, str(room_name), str(token or ""))
            if profile is not None:
                on_complete(profile)
            return profile is not None

        server_functions = [onboarding_complete]
    return gr.HTML(widget_html(user_id=user_id, agent_timeout=settings.agent_join_timeout_seconds),
                   head=WIDGET_HEAD, js_on_load=CALLBACK_JS if on_complete else MOUNT_JS,
                   server_functions=server_functions, elem_id=elem_id, padding=False)
