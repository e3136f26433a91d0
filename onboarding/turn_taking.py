"""When the caller's turn is over: end-of-turn delays per question, and answers split by a pause put back together.

A spelled email or a phone number read out has pauses inside it, so its field may wait longer before answering;
a yes or no to a read-back needs little. `endpointing_for` gives the delays for what the interview awaits now
(the field's `end_of_turn`, the definition's `read_back_end_of_turn`, else the global settings); the call applies
them to its session each time the interviewer speaks.

A caller who pauses inside an answer ("Jeff … Ronson Smith") can have it cut into two turns. When the second part
starts before the caller can have heard the agent's reply to the first (no reply audio yet, or less than
`HEARD_ENOUGH` seconds of it) and soon after the first part, it continues the answer: the scripted interviewer
forgets what it made of the first part and takes both parts as one answer (`MergingInterviewer`). So does a part
whose transcript came after the turn was committed (`LATE_TRANSCRIPT`): livekit-agents commits a turn at the end
of the caller's speech plus the end-of-turn delay, even while the last part's transcription is still running.
"""

from __future__ import annotations

import copy
from typing import Any

from livekit.agents import llm

from onboarding.interview import InterviewState, Reply, classify_reply
from onboarding.providers.scripted_llm import ScriptedInterviewer, last_user_message

# The second part must start within this many seconds of the first part's end...
CONTINUATION_GAP = 2.5
# ...and no later than this into the agent's reply to the first part (time to hear it and react to it).
HEARD_ENOUGH = 1.0
# End of turn while the caller spells a value letter by letter, after a "no" to its read-back.
SPELLING_MIN_DELAY, SPELLING_MAX_DELAY = 1.2, 2.5
# A transcript that comes with no timing of its own is of speech the previous turn's timing already covered: the
# caller went on after a pause and that part's transcript was not ready when the turn was committed. It comes
# this soon after the previous part.
LATE_TRANSCRIPT = 5.0
# A second part that is itself a reply to the agent ("no", "yes", "bye", "repeat that") is never merged.
_CONTINUING_KINDS = {"other"}


def endpointing_for(state: InterviewState, min_delay: float, max_delay: float, heard: str = "") -> dict[str, float]:
    """The session's endpointing options while `state` awaits its next answer, given what the caller has said of it
    so far: a one-word reply ("Yes.", "Skip.", "No thanks.") is over, whatever the question, and waits as a
    read-back does (the end-of-turn model often doubts a lone "Skip.", which would cost a field's long wait); a
    value being spelled waits longest."""
    if state.awaiting_spelling is not None:  # letters come with pauses between them
        return {"min_delay": SPELLING_MIN_DELAY, "max_delay": max(SPELLING_MAX_DELAY, max_delay)}
    awaited = None
    if state.pending_confirmation or state.asking_to_stop or (heard and classify_reply(heard) != "other"):
        awaited = state.definition.read_back_end_of_turn
    elif not state.finished and state.current is not None:
        awaited = state.current.end_of_turn
    low = awaited.min_delay if awaited and awaited.min_delay is not None else min_delay
    high = awaited.max_delay if awaited and awaited.max_delay is not None else max_delay
    return {"min_delay": low, "max_delay": max(low, high)}


def _metric(message: llm.ChatMessage, key: str) -> float | None:
    value = (message.metrics or {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def is_continuation(items: list[Any], previous: llm.ChatMessage, current: llm.ChatMessage) -> bool:
    """True when `current` carries on `previous` rather than answering what the agent said in between."""
    ended, started = _metric(previous, "stopped_speaking_at"), _metric(current, "started_speaking_at")
    if classify_reply(current.text_content or "") not in _CONTINUING_KINDS:
        return False
    if ended is not None and started is None and _metric(current, "stopped_speaking_at") is None:
        return 0 <= current.created_at - previous.created_at <= LATE_TRANSCRIPT  # its speech came before the reply
    if ended is None or started is None or not 0 <= started - ended <= CONTINUATION_GAP:
        return False
    after = items[items.index(previous) + 1:items.index(current)] if current in items else []
    heard = [t for item in after if item.type == "message" and item.role == "assistant"
             and (t := _metric(item, "started_speaking_at")) is not None]
    return not heard or started - min(heard) <= HEARD_ENOUGH


def answered_unheard(items: list[Any], current: llm.ChatMessage, read_back: str) -> bool:
    """True when `current` is a yes or no that ended before the caller can have heard `read_back`, the read-back
    pending now: it answers what the caller heard before (a read-back the merge of a continuation has since
    replaced), not this one. Seen under load: "My name is Maria … Garcia", the agent read back "Maria" in the pause,
    the caller's "No." to it came as the agent went on to read back "Maria Garcia", and rejected that. The reply's
    end is the time used: its start is the first speech-like sound since the last turn, which a breath can set."""
    ended = _metric(current, "stopped_speaking_at")
    if ended is None or classify_reply(current.text_content or "") not in ("yes", "no"):
        return False  # no timing (a typed or text-only turn): taken as said
    before = items[:items.index(current)] if current in items else []
    return not any(item.type == "message" and item.role == "assistant" and read_back in (item.text_content or "")
                   and (started := _metric(item, "started_speaking_at")) is not None
                   and ended - started > HEARD_ENOUGH for item in before)


def previous_user_message(items: list[Any], current: llm.ChatMessage) -> llm.ChatMessage | None:
    before = items[:items.index(current)] if current in items else []
    return next((item for item in reversed(before) if item.type == "message" and item.role == "user"), None)


class MergingInterviewer(ScriptedInterviewer):
    """The scripted interviewer, taking a continuation together with the part of the answer before it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the answer heard last: (its latest message id, the state before its first part, its text so far)
        self._answer: tuple[str, InterviewState, str] | None = None
        self.merges = 0
        self._asked_again: tuple[str | None, Any] | None = None  # the read-back repeated for a reply said unheard

    def respond(self, message: llm.ChatMessage | None, turn_index: int) -> Reply:
        text = (message.text_content or "").strip() if message is not None else ""
        if message is not None and message.id not in self._handled and text:
            self._answer = (message.id, copy.deepcopy(self.state), text)
        return super().respond(message, turn_index)

    def reply_for(self, chat_ctx: llm.ChatContext) -> Reply:
        message = last_user_message(chat_ctx)
        if message is not None and self.already_answered(message) is None:
            merged = self._merged(chat_ctx.items, message)
            if merged is not None:
                return merged
            pending = (self.state.pending_confirmation, self.state.pending_value)
            read_back = self.state.read_back
            if read_back and pending != self._asked_again and answered_unheard(chat_ctx.items, message, read_back):
                self._asked_again = pending  # once per value: a reply that keeps coming early is then taken
                self.state.replied_unheard = True  # the state reads the pending value back again
        return super().reply_for(chat_ctx)

    def _merged(self, items: list[Any], message: llm.ChatMessage) -> Reply | None:
        previous = previous_user_message(items, message)
        if previous is None or self._answer is None or self._answer[0] != previous.id:
            return None
        earlier = self._handled.get(previous.id)
        if earlier is None or earlier.done or not is_continuation(items, previous, message):
            return None
        _, before, so_far = self._answer
        self.state.__dict__.clear()  # in place: the call holds this object
        self.state.__dict__.update(copy.deepcopy(before).__dict__)
        self._user_turns += 1
        # the STT ends each part with a full stop ("Jeff." "Ronson Smith."): one answer has none in the middle
        text = f"{so_far.rstrip(' .…')} {(message.text_content or '').strip()}"
        reply = self.state.handle(text, self._user_turns)
        self._handled[message.id] = reply
        self._answer = (message.id, before, text)  # a third part joins both
        self.merges += 1
        if self._on_reply is not None:
            self._on_reply(message, reply)
        return reply
