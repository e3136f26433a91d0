"""The Gemini interviewer's instructions and function tools, generated from the interview definition.

The model converses; every value goes through `InterviewState.record`, so the shared normaliser validates it
(an invalid value goes back to the model as a `ToolError` saying why and what to ask), history keeps earlier
values, and the call's recorder and progress events see the same `Reply`/`FieldUpdate` records as on the
scripted path.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from livekit.agents import llm
from livekit.agents.llm import ToolError

from onboarding.interview import (
    InterviewDefinition,
    InterviewState,
    Reply,
    classify_reply,
    normalize_value,
    prompts,
    speakable,
)
from onboarding.interview.definition import FieldSpec

ReplyHook = Callable[[llm.ChatMessage | None, Reply], None]


def build_instructions(definition: InterviewDefinition) -> str:
    """The system prompt: how to run the interview, then the fields in order, all from data/interview.toml."""
    lines = [
        "You run a short spoken onboarding interview on a phone-like voice call. Everything you write is read "
        "aloud by a text-to-speech voice: short plain sentences, no lists, no markdown, no emoji.",
        f'Start with exactly this greeting, then ask the first question: "{definition.greeting}"',
        "Ask one question at a time, in the order below. Callers often give several answers at once: record "
        "each of them and skip questions already answered.",
        "Call record_field with the field name, the words as the caller said them (heard) and the value written "
        "normally (value): an email as name@domain.com, a phone number as digits with its country code, a team "
        "size as a number. If a tool returns an error, tell the caller briefly and ask again.",
        "For fields marked 'read back', say the value back (spell emails letter by letter) and ask whether it is "
        "right; call record_field only after the caller says yes (the tool refuses it before). If the caller says "
        "no, ask them to spell the part you got wrong, with a word for each letter (M as in Mike); if a whole "
        "spelling is wrong again, take it in two parts (the part before the at, then the domain; the first name, "
        "then the surname).",
        "When the caller corrects something already recorded, call correct_field. If the caller declines an "
        "optional field, or cannot give a required one after you asked twice, call skip_field and move on (staff "
        "follow up skipped required fields; finish with reason completed is then allowed).",
        f"If the caller wants to stop early, ask once whether to end the call; if yes, call finish with reason "
        f"caller_ended. When every required field is recorded and each optional one recorded or skipped, call "
        f'finish with reason completed, then thank the caller using what finish returns. Never invent answers. '
        f'End with: "{definition.goodbye}"',
        "",
        "Fields, in order:",
    ]
    for spec in definition.fields:
        traits = ["required" if spec.required else "optional", spec.type]
        if spec.confirm:
            traits.append("read back")
        if spec.choices:
            traits.append("one of: " + ", ".join(spec.choices))
        if spec.min is not None or spec.max is not None:
            traits.append(f"between {spec.min} and {spec.max}")
        hint = f" Hint: {spec.hint}" if spec.hint else ""
        lines.append(f"- {spec.name} ({spec.label}; {', '.join(traits)}): ask \"{spec.question}\".{hint}")
    return "\n".join(lines)


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9@]+", " ", text.lower()).strip()


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def read_back_in(said: str, spec: FieldSpec, value: str | int) -> bool:
    """Whether the agent's words read `value` back: spelled as we would ("m-a-r-i-a at example dot com"), said
    with at/dot, or written out."""
    heard = _letters(said)
    text = str(value)
    forms = {speakable(value, spec.kind, spec.region), text, text.replace("@", " at ").replace(".", " dot ")}
    return any(_letters(form) and _letters(form) in heard for form in forms)


def prompts_yes(text: str) -> bool:
    return classify_reply(text) == "yes"


class InterviewTools:
    """Tools bound to one call's state; `turn_index` is the caller turn being answered now."""

    def __init__(self, state: InterviewState, on_reply: ReplyHook, turn_index: Callable[[], int],
                 turn_texts: dict[int, str], agent_said: dict[int, str] | None = None) -> None:
        self.state, self._on_reply, self._turn_index, self._turn_texts = state, on_reply, turn_index, turn_texts
        self._agent_said = agent_said if agent_said is not None else {}  # caller turn → what the agent said before
        self.consumed: set[int] = set()  # caller turns a stored value came from
        names = state.definition.names
        value_args = {
            "type": "object",
            "properties": {
                "field": {"type": "string", "enum": names, "description": "The field's name."},
                "heard": {"type": "string", "description": "The caller's words, as said."},
                "value": {"type": "string", "description": "The value written normally."},
            },
            "required": ["field", "heard", "value"],
        }
        self.tools: list[llm.Tool] = [
            llm.function_tool(self._record, raw_schema={
                "name": "record_field", "description": "Store the caller's answer for one field.",
                "parameters": value_args}),
            llm.function_tool(self._correct, raw_schema={
                "name": "correct_field", "description": "Replace a recorded value the caller corrected.",
                "parameters": value_args}),
            llm.function_tool(self._skip, raw_schema={
                "name": "skip_field",
                "description": "The caller declined an optional field, or cannot give a required one.",
                "parameters": {"type": "object", "required": ["field"], "properties": {
                    "field": {"type": "string", "enum": names}}}}),
            llm.function_tool(self._finish, raw_schema={
                "name": "finish", "description": "End the call after the goodbye.",
                "parameters": {"type": "object", "required": ["reason"], "properties": {
                    "reason": {"type": "string", "enum": ["completed", "caller_ended"]}}}}),
        ]

    # --- tools -------------------------------------------------------------------------------
    async def _record(self, raw_arguments: dict[str, Any]) -> str:
        return self.store(raw_arguments, "tool")

    async def _correct(self, raw_arguments: dict[str, Any]) -> str:
        return self.store(raw_arguments, "correction")

    async def _skip(self, raw_arguments: dict[str, Any]) -> str:
        spec = self._spec(str(raw_arguments.get("field", "")))
        if spec.name in self.state.values:
            raise ToolError(f"{spec.name} is already recorded; use correct_field to change it.")
        bucket = self.state.flagged if spec.required else self.state.skipped
        if spec.name not in bucket:
            bucket.append(spec.name)
        if self.state.pending_confirmation == spec.name:
            self.state.discard_pending()
        self._on_reply(None, Reply("", [], False))
        return self._next({"skipped": spec.name, "follow_up_by_staff": spec.required})

    async def _finish(self, raw_arguments: dict[str, Any]) -> str:
        return self.finish(str(raw_arguments.get("reason", "")))

    # --- the work, callable without a session (tests, the scripted fallback) ---------------------
    def store(self, arguments: dict[str, Any], source: str) -> str:
        """Store a value the model gives, with the caller turn it came from and that turn's STT transcript as what
        was heard (never the model's `heard`, which may paraphrase). A field marked `confirm` is stored only once
        the agent has read it back and the caller said yes; until then it waits as a pending read-back."""
        spec = self._spec(str(arguments.get("field", "")))
        heard, value = str(arguments.get("heard") or ""), str(arguments.get("value") or "")
        normalized = normalize_value(spec, value)
        if normalized is None:
            raise ToolError(f"{prompts.invalid_message(spec, value)} Ask again: {spec.question}")
        now = self._turn_index()
        turn = self._turn_of(spec, heard, normalized.value)
        if spec.confirm and not self._confirmed(spec, normalized.value, now):
            self.state.propose(spec.name, value, turn, source, heard=self._turn_texts.get(turn, ""))
            readback = prompts.confirm_question(spec, normalized.value)
            raise ToolError(f"Not stored yet: {spec.name} must be read back first. Say: \"{readback}\" and call "
                            f"{'correct_field' if source == 'correction' else 'record_field'} again only after "
                            "the caller says yes.")
        update = self.state.record(spec.name, value, turn, source=source)
        update.raw = self._turn_texts.get(turn, heard or value)  # what the STT heard in that turn
        self.consumed.add(turn)
        self._on_reply(None, Reply("", [update], False))
        return self._next({"stored": spec.name, "value": update.value})

    def _confirmed(self, spec: FieldSpec, value: str | int, now: int) -> bool:
        """The caller's latest words are a yes, said right after the agent read this value back (not over it)."""
        said = self._turn_texts.get(now, "")
        return (prompts_yes(said) and not self.state.heard_over_agent
                and read_back_in(self._agent_said.get(now, ""), spec, value))

    def finish(self, reason: str) -> str:
        state = self.state
        missing = state.missing_required()
        if reason not in ("completed", "caller_ended"):
            raise ToolError("reason must be completed or caller_ended")
        open_fields = [name for name in missing if name not in state.flagged]  # flagged: staff follow them up
        if reason == "completed" and open_fields:
            first = state.definition.field(open_fields[0])
            raise ToolError(f"Not done yet: still missing {', '.join(open_fields)}. Ask: {first.question} "
                            "(If the caller cannot give one, call skip_field: staff will follow it up.)")
        state.finished, state.ended_by_caller = True, reason == "caller_ended"
        self._on_reply(None, Reply("", [], True, state.ended_by_caller))
        goodbye = state.wrap_up() if reason == "completed" else prompts.early_goodbye(state.definition)
        return json.dumps({"say": goodbye, "then": "the call ends after you say it"})

    def _spec(self, name: str):
        try:
            return self.state.definition.field(name)
        except KeyError:
            raise ToolError(f"There is no field {name!r}. Fields: {', '.join(self.state.definition.names)}.") from None

    def _turn_of(self, spec: FieldSpec, heard: str, value: str | int) -> int:
        """The caller turn the value was said in: the latest turn whose words give this value, else the turn the
        model's `heard` resembles most, else (a confirmed read-back) the turn before the yes, else the current one.
        Never a substring match on the model's words: models paraphrase."""
        now = self._turn_index()
        turns = sorted(self._turn_texts, reverse=True)
        for index in turns:
            got = normalize_value(spec, self._turn_texts[index])
            if got is not None and got.value == value:
                return index
        if heard.strip():
            scored = [(difflib.SequenceMatcher(None, _words(heard), _words(self._turn_texts[i])).ratio(), i)
                      for i in turns]
            best = max(scored, default=(0.0, now))
            if best[0] >= 0.6:
                return best[1]
        if spec.confirm and prompts_yes(self._turn_texts.get(now, "")) and now - 1 in self._turn_texts:
            return now - 1
        return now

    def _next(self, result: dict[str, Any]) -> str:
        current = self.state.current
        if current is None:
            result["next"] = "Every field is handled: call finish with reason completed."
        else:
            result["next_question"] = current.question
            result["next_field"] = current.name
        return json.dumps(result)
