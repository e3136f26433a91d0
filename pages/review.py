"""One profile under review, as HTML: its fields with provenance (each value plays the answer it came from), the
providers of its call, the transcript (every turn plays its clip), and the call's latency timeline.

UI only: the data is onboarding.admin.review's ProfileDetail and onboarding.admin.latency's exchanges. Clips are
served by the staff-only route /admin/audio/turns/<turn id>.ogg; `preload="none"` fetches one only when played.
"""

from __future__ import annotations

import html
from typing import Any

from onboarding.admin import charts
from onboarding.admin.latency import STAGE_LABELS, STAGES, Exchange
from onboarding.admin.review import ProfileDetail, describe_fallback, describe_use
from onboarding.usage.metering import KIND_NAMES

TRANSCRIPT_CSS = """
.turn { padding: 4px 8px; border-radius: 6px; margin: 2px 0; list-style: none; }
.turn.source { background: rgba(255, 200, 0, 0.18); border-left: 3px solid #e0a800; }
.turn:target { outline: 2px solid #2563eb; background: rgba(37, 99, 235, 0.12); }
.who { font-weight: 600; margin-right: 6px; }
.turn audio { display: block; height: 28px; margin-top: 2px; max-width: 100%; }
"""
DETAIL_CSS = """
.fields { overflow-x: auto; max-width: 100%; }
.fields table { width: 100%; border-collapse: collapse; font-size: 0.9em; }
.fields td, .fields th { padding: 4px 6px; vertical-align: top; }
.fields.providers table { width: auto; }
.fields audio { height: 28px; width: 180px; display: block; margin-top: 2px; }
.fallbacks { color: #b45309; margin: 4px 0 8px 0; padding-left: 4px; list-style: none; }
"""
TIMELINE_HEADERS = ["Turn", "Answering", "End of turn s", "STT s", "Interviewer first token s", "TTS first audio s",
                    "Voice-to-voice s", "Fallback"]


def esc(value: Any) -> str:
    """HTML-escaped, and braces too: gr.HTML treats the value as a template."""
    return html.escape("" if value is None else str(value)).replace("{", "&#123;").replace("}", "&#125;")


def when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def audio_tag(turn_id: int, label: str) -> str:
    return (f'<audio controls preload="none" src="/admin/audio/turns/{turn_id}.ogg" data-turn="{turn_id}" '
            f'aria-label="{esc(label)}"></audio>')


def render_detail(detail: ProfileDetail) -> str:
    """Fields with provenance; each value links to the turn it was heard in and plays that answer."""
    profile, call = detail.profile, detail.call
    turn_number = {t.id: t.index + 1 for t in detail.turns}
    with_audio = {t.id for t in detail.turns if t.audio_key}
    reviewed = (f"reviewed by {esc(profile.reviewed_by)} at {when(profile.reviewed_at)} UTC"
                if profile.reviewed_at else "not reviewed yet")
    head = (f"<h3>Profile {profile.id}: {esc(profile.full_name or 'no name yet')}</h3>"
            f"<p>Room <code>{esc(call.room_name)}</code> · call {esc(call.status)} · "
            f"{'completed' if profile.completed else 'partial'} profile · created {when(profile.created_at)} UTC · "
            f"{reviewed}</p>")
    rows = []
    for item in detail.fields:
        value = item.current
        if value is None:
            cells = "<td><em>not collected</em></td><td></td><td></td><td></td><td></td>"
        else:
            if value.turn_id in turn_number:
                origin = link(value.turn_id, turn_number)
                if value.turn_id in with_audio:
                    origin += audio_tag(value.turn_id, f"the answer {item.label} came from")
            elif value.source == "staff":
                origin = f"staff: {esc(value.changed_by)} at {when(value.created_at)}"
            else:
                origin = ""
            cells = (f"<td><strong>{esc(value.value)}</strong></td><td>“{esc(value.raw_text)}”</td>"
                     f"<td>{value.confidence:.2f}</td><td>{esc(value.source)}</td><td>{origin}</td>")
        history = "<br>".join(
            f"{esc(old.value)} ({esc(old.source)}{', ' + esc(old.changed_by) if old.changed_by else ''}"
            f"{', ' + link(old.turn_id, turn_number) if old.turn_id in turn_number else ''})"
            for old in item.history)
        flag = ' <span title="flagged for review">⚑ flagged</span>' if item.flagged else ""
        rows.append(f"<tr><td>{esc(item.label)}{flag}</td>{cells}<td>{history}</td></tr>")
    table = ('<div class="fields"><table><thead><tr><th>Field</th><th>Value</th><th>Heard</th><th>Confidence</th>'
             "<th>Source</th>"
             f"<th>From</th><th>Earlier values</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>")
    return head + render_providers(detail) + table


def render_providers(detail: ProfileDetail) -> str:
    """Which provider served the call per kind, what each was metered for, and every fallback with its reason."""
    rows = "".join(
        f"<tr><td>{KIND_NAMES.get(use.kind, use.kind)}</td><td><code>{esc(use.provider)}</code>"
        f"{' <em>(took over)</em>' if use.fallback else ''}</td><td>{esc(describe_use(use))}</td></tr>"
        for use in detail.providers)
    fallbacks = detail.fallbacks
    notes = (f'<ul class="fallbacks">{"".join(f"<li>⚠ {esc(describe_fallback(f))}</li>" for f in fallbacks)}</ul>'
             if fallbacks else "<p><em>No fallback: every provider served the whole call.</em></p>")
    return ('<h4>Providers</h4><div class="fields providers"><table><thead><tr><th>Kind</th><th>Provider</th>'
            "<th>Metered</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></div>{notes}")


def link(turn_id: int, turn_number: dict[int, int]) -> str:
    return f'<a href="#turn-{turn_id}">turn {turn_number[turn_id]}</a>'


def render_transcript(detail: ProfileDetail) -> str:
    """The call in order; every line carries its `turn-<id>` anchor and plays its clip, lines a field came from are
    highlighted."""
    sources = detail.source_turn_ids
    if not detail.turns:
        return "<p><em>No transcript was recorded for this call.</em></p>"
    lines = []
    for turn in detail.turns:
        classes = "turn source" if turn.id in sources else "turn"
        who = "Caller" if turn.role == "user" else "Agent"
        cut = " <em>(interrupted)</em>" if turn.interrupted else ""
        clip = audio_tag(turn.id, f"turn {turn.index + 1}, {who.lower()}") if turn.audio_key else ""
        lines.append(f'<li id="turn-{turn.id}" class="{classes}"><span class="who">{turn.index + 1}. {who}</span>'
                     f"{esc(turn.text)}{cut}{clip}</li>")
    return f"<h4>Transcript</h4><ol class=\"transcript\">{''.join(lines)}</ol>"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def timeline_rows(exchanges: list[Exchange]) -> list[list[str]]:
    return [[str(e.number), e.asked_field or ("(greeting)" if e.caller_text is None else ""),
             *(_seconds(e.stage(s)) for s in STAGES), _seconds(e.voice_to_voice), e.fallback or ""]
            for e in exchanges]


def timeline_chart(exchanges: list[Exchange]) -> dict[str, Any] | None:
    """Each exchange's stages stacked, the total as a tick, fallbacks marked; None when nothing was measured."""
    rows: list[dict[str, Any]] = []
    for e in exchanges:
        label = f"turn {e.number}" + (f" · {e.asked_field}" if e.asked_field else "")
        for rank, stage in enumerate(STAGES):
            if e.stage(stage) is not None:
                rows.append({"turn": label, "stage": STAGE_LABELS[stage], "seconds": e.stage(stage), "rank": rank})
        if e.voice_to_voice is not None:
            rows.append({"turn": label, "total": e.voice_to_voice, "fallback": e.fallback or ""})
    if not rows:
        return None
    return charts.timeline(rows, title="Where each reply's time went (tick: voice-to-voice)")
