"""The Gemini fake's "model": a FAKE BRAIN, deterministic, that is our own scripted interviewer replayed.

It is not a language model and proves nothing about prompting (tests of model behaviour that differs from our
rules use `ModelScript` instead: a scripted sequence of model turns, set as `FakeGemini.script`).
It exists so the wire protocol, the function
tools and the call flow can be tested end to end: given a request's `contents`, it replays every caller
utterance through our own `InterviewState` (the scripted rules and the shared extraction/normalisation code)
and acts as a well-behaved model would:

- the caller's latest words produced field values → it answers with `record_field` / `correct_field` function
  calls (value as heard and as normalised), then, once the tool results are back, with the next question;
- the interview is over → a `finish` call, then the goodbye;
- no new caller words (the plugin's "." placeholder) → the greeting, or the question again;
- a tool came back with an error → it says so and asks again.
Read-backs happen in text before a confirm field is recorded, as the generated instructions ask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from onboarding.interview import InterviewDefinition, InterviewState, Reply, load_definition

PLACEHOLDER = "."  # what livekit's Google formatter sends when the conversation does not end on the user


@dataclass
class Decision:
    """One response: either text to speak or function calls to make."""

    text: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ModelScript:
    """Scripted model behaviour for tests that must not lean on our own rules: each generate request takes the
    next step, whatever the request says (a model that paraphrases, skips read-backs, gives values our normaliser
    refuses, reads back in free text). Steps are Decisions; `say` and `call` build them. When the steps run out,
    the model says goodbye."""

    steps: list[Decision]
    served: int = 0

    def next(self, _contents: list[dict[str, Any]]) -> Decision:
        if self.served >= len(self.steps):
            return Decision(text="Thanks, goodbye.")
        self.served += 1
        return self.steps[self.served - 1]


def say(text: str) -> Decision:
    return Decision(text=text)


def call(name: str, **args: Any) -> Decision:
    return Decision(calls=[{"name": name, "args": args}])


def _user_texts(contents: list[dict[str, Any]]) -> list[str]:
    texts = []
    for content in contents:
        if content.get("role") != "user":
            continue
        texts += [p["text"] for p in content.get("parts", []) if isinstance(p.get("text"), str)]
    return [t for t in texts if t.strip() and t.strip() != PLACEHOLDER]


def _tool_round(contents: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The function calls and responses made since the caller last spoke (oldest first)."""
    calls: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    for content in reversed(contents):
        parts = content.get("parts", [])
        if content.get("role") == "user" and any("text" in p and p["text"].strip() != PLACEHOLDER for p in parts):
            break
        calls[:0] = [p["functionCall"] for p in parts if "functionCall" in p]
        responses[:0] = [p["functionResponse"] for p in parts if "functionResponse" in p]
    return calls, responses


def _replay(definition: InterviewDefinition, texts: list[str]) -> tuple[InterviewState, Reply, list[str]]:
    """The state after every utterance, the reply to the last one, and the fields that reply gave up on."""
    state = InterviewState(definition)
    reply = state.opening()
    given_up: set[str] = set()
    for index, text in enumerate(texts, start=1):
        given_up = set(state.flagged) | set(state.skipped)
        reply = state.handle(text, index)
    return state, reply, [f for f in (*state.flagged, *state.skipped) if f not in given_up]


def _record_call(update: Any) -> dict[str, Any]:
    name = "correct_field" if update.source == "correction" else "record_field"
    return {"name": name, "args": {"field": update.field, "heard": update.raw, "value": str(update.value)}}


def decide(contents: list[dict[str, Any]], definition: InterviewDefinition | None = None) -> Decision:
    definition = definition or load_definition()
    texts = _user_texts(contents)
    last_parts = contents[-1].get("parts", []) if contents else []
    silent = all(p.get("text", "").strip() == PLACEHOLDER for p in last_parts if "text" in p) and not any(
        "functionResponse" in p for p in last_parts)
    state, reply, given_up = _replay(definition, texts)
    if silent:  # nothing new was said: the opening, or the question again
        if not texts:
            return Decision(text=reply.text)
        return Decision(text=state.reprompt().text)
    calls, responses = _tool_round(contents)
    errors = [r for r in responses if "error" in (r.get("response") or {})]
    if errors:
        return Decision(text=f"Sorry, {errors[-1]['response']['error']}")
    if not calls:  # the caller just spoke
        if reply.updates or given_up:
            skips = [{"name": "skip_field", "args": {"field": name}} for name in given_up]
            return Decision(calls=[*(_record_call(u) for u in reply.updates), *skips])
        if reply.done:
            return Decision(calls=[_finish_call(reply)])
        return Decision(text=reply.text)
    if reply.done and not any(c.get("name") == "finish" for c in calls):
        return Decision(calls=[_finish_call(reply)])
    return Decision(text=reply.text)


def _finish_call(reply: Reply) -> dict[str, Any]:
    return {"name": "finish", "args": {"reason": "caller_ended" if reply.ended_by_caller else "completed"}}


def tokens(value: Any) -> int:
    """Gemini-like token count: about four characters per token (images are counted by the caller)."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return max(1, (len(text) + 3) // 4) if text else 0
