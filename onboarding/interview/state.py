"""The interview as a plain state object: one caller utterance in, what to say next and field changes out.

It knows nothing about LiveKit, HTTP or LLMs so the scripted voice interviewer, the REST
push-to-talk mode and LLM tools all drive the same rules: ask in definition order, re-ask unclear
answers a bounded number of times, read back fields marked `confirm` and any value heard with low confidence
(readback.py: a no asks to spell), honour corrections at any point (keeping every earlier value in `history`),
take values the caller typed, and end politely when the caller wants to.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from onboarding.interview import prompts
from onboarding.interview.definition import FieldSpec, InterviewDefinition
from onboarding.interview.extract import extract_fields, target_field
from onboarding.interview.hearing import (
    Heard,
    HearingPlan,
    company_domain,
    distinct,
    hearing_plan,
    sounds_the_same,
)
from onboarding.interview.normalize import (
    Normalized,
    classify_reply,
    normalize_value,
    sounds_like_another_number,
    strip_correction,
)
from onboarding.interview.readback import ReadBack
from onboarding.interview.replies import checks_the_line, correction_field_words, small_talk
from onboarding.interview.spacing import spacing_note
from onboarding.interview.spelled_parts import SpelledParts
from onboarding.interview.turns import FieldUpdate, Outcome, PendingValue, Reply, Value

__all__ = ["FieldUpdate", "InterviewState", "Outcome", "Reply"]


class InterviewState(ReadBack, SpelledParts):
    """Rule-based interviewer state for one call."""

    def __init__(self, definition: InterviewDefinition) -> None:
        self.definition = definition
        self.values: dict[str, Value] = {}
        self.history: dict[str, list[FieldUpdate]] = {}
        self.flagged: list[str] = []
        self.skipped: list[str] = []
        self.finished = False
        self.ended_by_caller = False
        self._attempts: dict[str, int] = {}
        self._dont_knows: dict[str, int] = {}
        self._candidates: dict[str, tuple[Normalized, str, int]] = {}
        self._pending: PendingValue | None = None
        self._focus: str | None = None  # a field re-asked out of order after a rejected correction
        self._last_answered: str | None = None
        self._last_prompt = ""
        self._acks = 0
        self._stop_asked = False  # "bye" heard while required fields are missing: asked whether to end
        self._spelling: str | None = None  # the field the caller was asked to spell after a rejected read-back
        self._digits_of: str | None = None  # the count the caller was asked to say one digit at a time
        self._heard_in_digits = False  # the answer being handled was that count, said so
        self._rejected: dict[str, Value] = {}  # the value the caller said no to, per field (a spelling fixes it)
        self._refused: dict[str, list[Value]] = {}  # every value the caller said no to, per field: never heard again
        self._refused_spellings: dict[str, list[Value]] = {}  # those of them the caller had spelled
        self._offered_from_address: set[str] = set()  # a name given up on, offered as the address writes it
        self._spelled_part: tuple[str, str] | None = None  # (field, letters so far) of a spelling being read back
        self._spelled_whole: set[str] = set()  # fields the caller spelled whole and then refused: next in parts
        self._part: str | None = None  # the part asked for while a value is spelled in two parts (spelled_parts)
        self._first_part = ""  # its first part, spelled already
        self._readings: list[str] = []  # every STT reading of the utterance being handled, best first
        self._number_begun: dict[str, str] = {}  # a number's answer heard with too few digits, per field
        # The STT's other readings of an utterance (its N best), set by the voice call; None: one reading only.
        self.hearing: Callable[[str], list[str]] | None = None
        # Set by the call when the caller began speaking while the agent was still talking: a "yes" said over a
        # read-back was not said to it.
        self.heard_over_agent = False
        # Set by the turn-taking layer when a yes or no ended before the read-back pending now can have been heard.
        self.replied_unheard = False

    # shared, never copied: the definition, and `hearing`, a callback into the STT (which holds process handles)
    _SHARED = ("definition", "hearing")

    def __deepcopy__(self, memo: dict[int, Any]) -> InterviewState:
        """A snapshot of what the interview knows (the split-answer merge goes back to one)."""
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            setattr(clone, name, value if name in self._SHARED else copy.deepcopy(value, memo))
        return clone

    # --- queries --------------------------------------------------------------------------
    @property
    def current(self) -> FieldSpec | None:
        """The field being asked about now, or None when every field is handled."""
        if self._focus:
            return self.definition.field(self._focus)
        handled = set(self.values) | set(self.flagged) | set(self.skipped)
        return next((spec for spec in self.definition.fields if spec.name not in handled), None)

    @property
    def pending_confirmation(self) -> str | None:
        return self._pending.field if self._pending else None

    @property
    def read_back(self) -> str | None:
        """The question reading back the value pending now, as the agent said it."""
        return self._last_prompt if self._pending else None

    @property
    def asking_to_stop(self) -> bool:
        """True while the agent asks whether the caller really wants to end the call."""
        return self._stop_asked

    @property
    def awaiting_spelling(self) -> str | None:
        """The field the caller was just asked to spell (letters come with pauses: end of turn should wait)."""
        return self._spelling

    @property
    def pending_value(self) -> Value | None:
        """The value being read back for a yes/no, so a screen can show it too."""
        return self._pending.value.value if self._pending else None

    @property
    def next_hearing(self) -> HearingPlan:
        """How the next answer is heard (`hearing_plan`): the asked field's STT prompts, the gate that makes the
        later ones moot, the readings' order. Nothing while a yes/no is awaited (read-back, stop question) or when
        the interview is over."""
        if self._pending or self._stop_asked or self.finished or self.current is None:
            return HearingPlan()
        if self._spelling == self.current.name:  # a spelled example makes Whisper write letters, not a guessed word
            return HearingPlan((prompts.SPELLING_STT_PROMPT,))
        return hearing_plan(self.current, self.values)

    @property
    def stt_prompt(self) -> str | None:
        """What the next answer is likely to contain, for a cloud STT's keyterms: the first of `next_hearing`'s prompts
        (None when it has none, or when it is unprimed)."""
        return next(iter(self.next_hearing.prompts), None) or None

    def missing_required(self) -> list[str]:
        return [spec.name for spec in self.definition.fields if spec.required and spec.name not in self.values]

    def wrap_up(self) -> str:
        """The closing summary: what was collected and what staff will follow up."""
        have = [spec.label for spec in self.definition.fields if spec.name in self.values]
        return prompts.summary(self.values.get("full_name"), have, self._labels(self.flagged), self.definition.goodbye)

    def _labels(self, names: list[str]) -> list[str]:
        return [self.definition.field(name).label for name in names]

    def outcome(self, *, ended_by_client: bool = False) -> Outcome:
        """The one end-of-call rule, for every door: an interview that ran to its end is completed (fields given up
        on are flagged for staff); one the caller or a REST client ended early is abandoned unless every required
        field is in. The profile is complete only when nothing required is missing."""
        missing = self.missing_required()
        if (self.ended_by_caller or ended_by_client or not self.finished) and missing:
            who = "caller ended the call" if self.ended_by_caller else "client completed the session"
            return Outcome("abandoned", f"{who} without giving: {', '.join(missing)}")
        return Outcome("completed", None, profile_complete=not missing)

    # --- turns ----------------------------------------------------------------------------
    def opening(self) -> Reply:
        """Greeting plus the first question."""
        return self._next(self.definition.greeting, [])

    def handle(self, text: str, turn_index: int, alternatives: list[str] | None = None) -> Reply:
        """One caller utterance: classify it, apply what it says, and decide what to say next.

        `alternatives`: the STT's other readings of it, best first (default: what `hearing` gives, if set)."""
        if self.finished:
            return Reply(self.definition.goodbye, [], True, self.ended_by_caller)
        text = (text or "").strip()
        if alternatives is None and self.hearing is not None and text:
            alternatives = self.hearing(text)
        self._readings = distinct([text, *(alternatives or [])])
        over_agent, self.heard_over_agent = self.heard_over_agent, False
        unheard, self.replied_unheard = self.replied_unheard, False
        if (over_agent or unheard) and self._pending and classify_reply(text) in ("yes", "no"):
            lead = prompts.TALKED_OVER if over_agent else prompts.JUST_TO_CHECK
            return Reply(prompts.join(lead, self._last_prompt), [], False)
        if not text:
            return self.reprompt()
        kind = classify_reply(text)
        if self._stop_asked:
            self._stop_asked = False
            if kind in ("yes", "stop"):
                return self._end_early()
            if kind == "no":
                return Reply(prompts.join("Okay, let's carry on.", self._prompt_for_current()), [], False)
        elif kind == "stop":
            if not self.missing_required():
                return self._end_early()
            # one misheard word ("bye") must not end a call: ask first
            self._stop_asked = True
            self._last_prompt = prompts.confirm_stop(self._labels(self.missing_required()))
            return Reply(self._last_prompt, [], False)
        if kind == "repeat":
            return Reply(self._last_prompt or self._prompt_for_current(), [], False)
        if kind == "wait":  # "Hang on, someone's at the door": no answer, no attempt used
            return Reply(prompts.TAKE_YOUR_TIME, [], False, waiting=True)
        if kind == "question":  # "Why do you need that?", "Are you still there?": answered, then asked again
            if checks_the_line(text):
                lead = prompts.STILL_HERE
            elif small_talk(text):
                lead = prompts.SMALL_TALK
            else:
                lead = prompts.why_we_ask(None if self._pending else self.current)
            return Reply(prompts.join(lead, self._last_prompt or self._prompt_for_current()), [], False)
        if self._pending:
            return self._handle_confirmation(text, kind, turn_index)
        if kind == "correction":
            reply = self._handle_correction(text, turn_index)
            if reply is not None:
                return reply
            text = strip_correction(text) or text
        spec = self.current
        if spec is None:
            return self._next("", [])
        if kind == "dont_know":
            return self._dont_know(spec)
        if kind in ("yes", "no") and spec.type != "choice":
            return self._failed(spec, [])
        return self._answer(spec, text, turn_index)

    def _end_early(self) -> Reply:
        self.finished = self.ended_by_caller = True
        return Reply(prompts.early_goodbye(self.definition), [], True, True)

    def reprompt(self) -> Reply:
        """The caller was silent or unintelligible: ask again; this counts as an attempt."""
        if self.finished:
            return Reply(self.definition.goodbye, [], True, self.ended_by_caller)
        if self._pending:
            return self._confirm_failed(prompts.NOT_HEARD)
        spec = self.current
        if spec is None:
            return self._next("", [])
        return self._failed(spec, [], prompts.NOT_HEARD)

    def record(self, field: str, raw_text: str, turn_index: int, source: str = "tool") -> FieldUpdate:
        """Validate, normalise and store a value given directly (e.g. by an LLM tool call)."""
        try:
            spec = self.definition.field(field)
        except KeyError:
            raise ValueError(f"There is no field called {field!r}.") from None
        value = normalize_value(spec, raw_text or "")
        if value is None:
            raise ValueError(prompts.invalid_message(spec, raw_text or ""))
        if self._pending and self._pending.field == field:
            self._pending = None
        self._candidates.pop(field, None)
        return self._accept(spec, value, raw_text, turn_index, source)

    def typed(self, field: str, text: str, turn_index: int) -> Reply:
        """The caller typed a value (the widget's correction box, a client's REST call): the same normaliser and
        validation as a spoken answer; stored at once with source "typed" (no read-back: they can see it).
        Raises ValueError with the reason when it is refused. The reply says so and asks what is open next."""
        try:
            spec = self.definition.field(field)
        except KeyError:
            raise ValueError(f"There is no field called {field!r}.") from None
        if self.finished:
            raise ValueError("The interview is over: staff can still correct the profile.")
        value = normalize_value(spec, (text or "").strip())
        if value is None:
            raise ValueError(prompts.invalid_message(spec, (text or "").strip()))
        if self._pending and self._pending.field == field:
            self._pending = None
        if self._spelling == field:
            self._spelling = None
        if self._digits_of == field:
            self._digits_of = None
        self._candidates.pop(field, None)
        update = self._accept(spec, Normalized(value.value, 1.0), text.strip(), turn_index, "typed")
        said = prompts.typed(spec, value.value)
        if self._pending:  # still waiting for a yes about another field: ask that again
            return Reply(prompts.join(said, self._last_prompt), [update], False)
        return self._next(said, [update])

    def discard_pending(self) -> None:
        """Forget a read-back waiting for a yes (the field was skipped or typed instead)."""
        self._pending = None

    def propose(self, field: str, raw_text: str, turn_index: int, source: str = "tool", heard: str = "") -> Value:
        """A value an LLM wants stored for a field that must be read back first: it waits, as a pending read-back,
        for the caller's yes (so the scripted rules can take the yes too if the LLM fails). Raises ValueError."""
        spec = self.definition.field(field)
        value = normalize_value(spec, raw_text or "")
        if value is None:
            raise ValueError(prompts.invalid_message(spec, raw_text or ""))
        self._pending = PendingValue(spec.name, value, heard or raw_text, turn_index, source)
        self._last_prompt = prompts.confirm_question(spec, value.value, company_domain(self.values))
        return value.value

    # --- steps ----------------------------------------------------------------------------
    def _accept(self, spec: FieldSpec, value: Normalized, raw: str, turn: int, source: str) -> FieldUpdate:
        update = FieldUpdate(field=spec.name, value=value.value, raw=raw, confidence=value.confidence,
                             turn_index=turn, previous=self.values.get(spec.name), source=source)
        self.values[spec.name] = value.value
        self.history.setdefault(spec.name, []).append(update)
        self._number_begun.pop(spec.name, None)
        for bucket in (self.flagged, self.skipped):
            if spec.name in bucket:
                bucket.remove(spec.name)
        self._attempts.pop(spec.name, None)
        self._part = None
        if self._focus == spec.name:
            self._focus = None
        self._last_answered = spec.name
        return update

    def _answer(self, spec: FieldSpec, text: str, turn: int) -> Reply:
        source = "correction" if spec.name in self.values else "answer"
        if self._part and self._spelling == spec.name and (
                part := self._hear_part(spec, text, turn, source)) is not None:
            return part
        self._heard_in_digits = False
        heard = self._hear(spec, text)
        if heard is None and spec.kind == "phone":
            heard = self._number_went_on(spec, text)
        spelled = self._spelling == spec.name
        digits = self._heard_in_digits  # said one digit at a time when asked: nothing to confuse it with
        self._spelling = self._digits_of = None
        self._spelled_part = (spec.name, text) if spelled and heard is not None else None
        value = Normalized(heard.value.value, heard.confidence) if heard else None
        extras = extract_fields(text, self.definition)
        if value is None and spec.name in extras:
            value = extras[spec.name]
        updates: list[FieldUpdate] = []
        for name, extra in extras.items():
            if name == spec.name or name in self.values:
                continue
            other = self.definition.field(name)
            if other.confirm:
                self._candidates[name] = (extra, text, turn)
            else:
                updates.append(self._accept(other, extra, text, turn, "answer"))
        if value is None:
            if updates:
                self._last_prompt = spec.question
                return Reply(prompts.join(self._ack(), spec.question), updates, False)
            if (suggested := self._suggest_zone(spec, text, turn)) is not None:
                return suggested
            reason = prompts.invalid_reason(spec, text)
            if spec.kind == "phone" and reason is not None:
                self._number_begun[spec.name] = text
            return self._failed(spec, updates, reason or prompts.NOT_CAUGHT, spelling=spelled,
                                digits=reason is not None and spec.kind == "phone")
        if (spec.confirm or spelled or value.confidence < self.definition.read_back_threshold(spec)
                or (spec.kind == "integer" and isinstance(value.value, int) and sounds_like_another_number(value.value)
                    and not digits)
                or spacing_note(spec.kind, value.value, company_domain(self.values))  # spacing: only the caller knows
                or self._was_refused(spec, value.value)):  # heard again as said no to: never stored unheard
            return self._confirm(spec, value, text, turn, source, "", updates)
        updates.append(self._accept(spec, value, text, turn, source))
        return self._next(self._ack(), updates)

    def _number_went_on(self, spec: FieldSpec, text: str) -> Heard | None:
        """A number said over two turns: "…six oh two, four one eight," heard a digit or more short, then "seven
        three five." (the caller paused longer than the end of turn and went on over the re-ask). The two together
        when they make a valid number that neither makes alone; read back, since it was put together here."""
        begun = self._number_begun.get(spec.name)
        if begun is None:
            return None
        joined = f"{begun}, {text}"
        heard = self._hear(spec, joined, [joined])
        if heard is None:
            return None
        return Heard(Normalized(heard.value.value, min(heard.value.confidence, 0.5)), joined, 1, 1)

    def _was_refused(self, spec: FieldSpec, value: Value) -> bool:
        """The caller said no to this value for this field ("…leave the jump", heard again by 4 readings of 5 after
        a no: stored unheard before, now read back again)."""
        return any(sounds_the_same(value, no) for no in self._refused.get(spec.name, []))

    def _handle_correction(self, text: str, turn: int) -> Reply | None:
        """A correction outside a read-back; None means "treat the payload as an answer"."""
        payload = strip_correction(text)
        named = target_field(correction_field_words(text), self.definition)
        current = self.current
        target = named
        if target is None and self._last_answered:
            last = self.definition.field(self._last_answered)
            if normalize_value(last, payload) is not None or current is None or (
                    normalize_value(current, payload) is None):
                target = last
        if target is None or (current is not None and target.name == current.name):
            return None
        value = normalize_value(target, payload)
        if value is None:
            self._focus = target.name
            self._last_prompt = prompts.ask_again_for(target)
            return Reply(self._last_prompt, [], False)
        source = "correction" if target.name in self.values else "answer"
        if target.confirm:
            return self._confirm(target, value, text, turn, source, prompts.OKAY, [])
        update = self._accept(target, value, text, turn, source)
        return self._next(prompts.changed(target, value.value), [update])

    def _dont_know(self, spec: FieldSpec) -> Reply:
        if not spec.required:
            self._give_up(spec)
            return self._next(prompts.NO_PROBLEM, [])
        count = self._dont_knows.get(spec.name, 0) + 1
        self._dont_knows[spec.name] = count
        if count > 1 or self._attempts.get(spec.name, 0) >= self.definition.max_attempts:
            self._give_up(spec)
            return self._next(prompts.follow_up_later(spec), [])
        self._attempts[spec.name] = self._attempts.get(spec.name, 0) + 1
        self._last_prompt = prompts.reask(spec, self._attempts[spec.name])
        return Reply(prompts.join(prompts.NEEDED, self._last_prompt), [], False)

    def _failed(self, spec: FieldSpec, updates: list[FieldUpdate], prefix: str = prompts.NOT_CAUGHT,
                spelling: bool = False, digits: bool = False) -> Reply:
        """Not understood: ask again, the slower way if the caller was spelling or saying digits one at a time, or
        if a number was heard but is not valid (`digits`): the open question brings back the reading that failed
        (seen: "three one two five five five oh one hundred" heard as 312555-100 three times in a row; "nadia k at
        kowalski dot net" heard as "nadiakowalski.net" three times). A name, address or company not caught twice
        is asked for spelled."""
        attempts = self._attempts.get(spec.name, 0) + 1
        self._attempts[spec.name] = attempts
        if attempts > self.definition.max_attempts:
            self._give_up(spec)
            text = prompts.follow_up_later(spec) if spec.required else prompts.SKIP
            return self._next(text, updates)
        if spelling or (attempts >= 2 and prompts.can_spell(spec)):  # the same words failed twice: spell them
            self._spelling = spec.name
            self._last_prompt = prompts.ask_for_part(self._part) if self._part else prompts.ask_to_spell(spec)
        elif digits or self._last_prompt == prompts.ask_for_digits(spec):
            self._last_prompt = prompts.ask_for_digits(spec)
        else:
            self._last_prompt = prompts.reask(spec, attempts)
        return Reply(prompts.join(prefix, self._last_prompt), updates, False)

    def _give_up(self, spec: FieldSpec) -> None:
        self._part = None
        if self._digits_of == spec.name:
            self._digits_of = None
        if self._focus == spec.name:
            self._focus = None  # the old value stays; nothing more to ask
            return
        bucket = self.flagged if spec.required else self.skipped
        if spec.name not in bucket:
            bucket.append(spec.name)

    def _prompt_for_current(self) -> str:
        spec = self.current
        return spec.question if spec else self.definition.goodbye

    def _next(self, prefix: str, updates: list[FieldUpdate]) -> Reply:
        """Move to the next unhandled field (reading back a volunteered value first) or finish."""
        if (offer := self._name_from_address(prefix, updates)) is not None:
            return offer
        spec = self.current
        if spec is None:
            self.finished = True
            return Reply(prompts.join(prefix, self.wrap_up()), updates, True)
        if spec.name in self._candidates:
            value, raw, turn = self._candidates.pop(spec.name)
            return self._confirm(spec, value, raw, turn, "answer", prefix, updates)
        self._last_prompt = spec.question
        return Reply(prompts.join(prefix, spec.question), updates, False)

    def _ack(self) -> str:
        self._acks += 1
        return prompts.ACKS[self._acks % len(prompts.ACKS)]
