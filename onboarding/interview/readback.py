"""Read-backs: a value waiting for the caller's yes, what a no or a correction does to it, and spelling.

A mixin of `InterviewState` (kept apart so each file reads in one sitting): a yes confirms only when most STT
readings hear a yes; a no asks the caller to spell (bounded by the interview's `max_attempts`, then the field is
flagged for staff and the call moves on); "no, it's …" and a spelling in the same turn are read at once.
"""

from __future__ import annotations

import dataclasses
import difflib
import re

from onboarding.interview import prompts
from onboarding.interview.attempts import SPELLED_KINDS, edits, read_together, words_of
from onboarding.interview.definition import FieldSpec
from onboarding.interview.emails import like_the_domain, like_the_name, name_in_address
from onboarding.interview.extract import extract_fields, target_field
from onboarding.interview.hearing import (
    GUESS_CONFIDENCE,
    Heard,
    company_domain,
    distinct,
    hear_spelled,
    hear_value,
    hearing_plan,
    is_yes,
    merge_name_word,
    parted_at_its_ending,
    same_value,
)
from onboarding.interview.normalize import (
    Normalized,
    classify_reply,
    normalize_value,
    number_said_digit_by_digit,
    sounds_like_another_number,
    strip_correction,
)
from onboarding.interview.replies import correction_field_words, sounds_like_no
from onboarding.interview.spacing import respace, spacing_note, spacing_reply
from onboarding.interview.spelled_parts import spelled_whole
from onboarding.interview.spelling import decode_spelled
from onboarding.interview.timezones import zone_of_number
from onboarding.interview.turns import FieldUpdate, PendingValue, Reply
from onboarding.interview.validate import email_region

NUMBER_AGREES = 0.9  # a city's zone the caller's number points to as well: as sure as a zone named outright
_YES_THEN = re.compile(r"^(?:yes|yeah|yep|yup|correct|that's right|that's correct|right)\b[,.!]?\s*(?:and\s+)?"
                       r"(?P<rest>\S.{2,})$", re.IGNORECASE)




class ReadBack:
    """The read-back steps of the interview state (see InterviewState for the attributes they use)."""

    def _hear(self, spec: FieldSpec, text: str, readings: list[str] | None = None,
              correcting: bool = False) -> Heard | None:
        """The value this utterance gives `spec`: spelled letters when the caller was asked to spell (or spelled a
        correction), else the first reading the normaliser accepts. `readings` default: the utterance's own."""
        if readings is None:
            readings = self._readings if self._readings[:1] == [text] else [text]
        spec = self._at_home(spec)
        previous = self._rejected.get(spec.name) or self.values.get(spec.name)
        refused = self._refused.get(spec.name, [])
        if self._spelling == spec.name or (correcting and self._spelled_correction(text)):
            # asked to spell, or "no, it's D M I T R I": letters first (they fix the misheard word), words if none
            spelled = self._with_earlier_spelling(spec, hear_spelled(spec, readings, previous, refused))
            return self._like_earlier_answers(spec, spelled or hear_value(spec, readings, refused))
        if self._digits_of == spec.name and (digits := self._count_in_digits(spec, readings)) is not None:
            self._heard_in_digits = True
            return digits
        heard = hear_value(spec, hearing_plan(spec, self.values).ordered(readings), refused)
        if spec.kind == "company":
            heard = parted_at_its_ending(heard, company_domain(self.values))
        if heard is None and self._spelled_correction(text):  # "no, it's D M I T R I"
            heard = hear_spelled(spec, readings, previous, refused)
        return self._as_the_number_says(spec, self._like_earlier_answers(spec, heard))

    @staticmethod
    def _count_in_digits(spec: FieldSpec, readings: list[str]) -> Heard | None:
        """A count said one digit at a time when asked to ("One, four." is 14), from the first reading of digits
        alone within the field's bounds."""
        for reading in readings:
            said = number_said_digit_by_digit(reading)
            if said is not None and (spec.min is None or said.value >= spec.min) and (
                    spec.max is None or said.value <= spec.max):
                agreeing = sum(1 for r in readings if (other := number_said_digit_by_digit(r)) and other == said)
                return Heard(said, reading, agreeing, len(readings))
        return None

    def _with_earlier_spelling(self, spec: FieldSpec, spelled: Heard | None) -> Heard | None:
        """A spelling read together with the refused spelling most like it (`attempts.read_together`): what each
        lost, the other may hold. The latest alone when that gives nothing new or something already refused."""
        refused = self._refused.get(spec.name, [])
        spellings = self._refused_spellings.get(spec.name)
        if spelled is None or spec.kind not in SPELLED_KINDS or not spellings:
            return spelled  # a word misheard whole ("Dmmidri") is no attempt at the letters: read alone
        latest = str(spelled.value.value)
        earlier = min((str(value) for value in spellings), key=lambda value: edits(value, latest))
        # words the call heard otherwise: the field's other refused hearings ("Fair Events"), the other answers
        known = words_of(*(value for value in refused if str(value) != earlier),
                         *(value for name, value in self.values.items() if name != spec.name))
        together = read_together(earlier, latest, known)
        value = normalize_value(spec, together) if together else None
        if value is None or same_value(value.value, latest) or any(same_value(value.value, r) for r in refused):
            return spelled
        return dataclasses.replace(spelled, value=Normalized(value.value, spelled.value.confidence))

    def _refuse(self, name: str, pending: PendingValue) -> None:
        """The caller said no to `pending`: never heard again, and if they had spelled it, kept to read the next
        spelling with."""
        self._refused.setdefault(name, []).append(pending.value.value)
        if (spelled := decode_spelled(pending.raw)) is not None:
            self._refused_spellings.setdefault(name, []).append(pending.value.value)
            if spelled_whole(self.definition.field(name).kind, spelled.text):  # next time in two parts
                self._spelled_whole.add(name)

    def _at_home(self, spec: FieldSpec) -> FieldSpec:
        """A phone field that knows the caller's country from their email ("….co.uk"), for numbers said in
        national form."""
        if spec.kind != "phone":
            return spec
        email = next((self.values[f.name] for f in self.definition.fields
                      if f.kind == "email" and f.name in self.values), None)
        home = email_region(str(email)) if email else None
        return dataclasses.replace(spec, home_region=home) if home else spec

    def _suggest_zone(self, spec: FieldSpec, text: str, turn: int) -> Reply | None:
        """A time zone not caught the first time, from a caller whose number points to one: ask whether it is
        theirs. A yes is what speech recognition gets right; a city said alone is not ("Oslo." was heard
        "Asshole.", "Enslur." and "Us low."). Once: after a no, or a second miss, the question is asked again."""
        if spec.kind != "timezone" or self._attempts.get(spec.name) or spec.name in self._rejected:
            return None
        if (zone := zone_of_number(self._callers_number())) is None:
            return None
        self._pending = PendingValue(spec.name, Normalized(zone, GUESS_CONFIDENCE), text, turn, "answer")
        self._last_prompt = prompts.suggest_zone(spec, zone)
        return Reply(prompts.join(prompts.NOT_CAUGHT, self._last_prompt), [], False)

    def _callers_number(self) -> str:
        return next((str(self.values[f.name]) for f in self.definition.fields
                     if f.kind == "phone" and f.name in self.values), "")

    def _as_the_number_says(self, spec: FieldSpec, heard: Heard | None) -> Heard | None:
        """A city's zone, a guess read back, that the caller's number points to as well: two ways of knowing agree
        ("Kyoto." from a caller on +81…), so it is stored without asking."""
        if (spec.kind != "timezone" or heard is None or heard.value.confidence >= NUMBER_AGREES
                or heard.value.value != zone_of_number(self._callers_number())):
            return heard
        return dataclasses.replace(heard, value=Normalized(heard.value.value, NUMBER_AGREES))

    def _name_from_address(self, prefix: str, updates: list[FieldUpdate]) -> Reply | None:
        """A name given up on after misheard spellings, then an address confirmed that holds it ("Broonwybn
        Ashby" refused, then bronwyn.ashby@yahoo.com said yes to): ask whether the name is as the address writes
        it, as an operator would. Once per call; a yes stores it, a no leaves it for staff."""
        name = next((f for f in self.definition.fields if f.kind == "person_name" and f.name in self.flagged), None)
        email = next((f for f in self.definition.fields if f.kind == "email" and f.name in self.values), None)
        if name is None or email is None or name.name in self._offered_from_address:
            return None
        guess = name_in_address(str(self.values[email.name]), [str(v) for v in self._refused.get(name.name, [])])
        if guess is None:
            return None
        self._offered_from_address.add(name.name)
        said = self.history[email.name][-1]
        self._focus = name.name
        self._pending = PendingValue(name.name, Normalized(guess, GUESS_CONFIDENCE), said.raw, said.turn_index,
                                     "answer")
        self._last_prompt = prompts.name_from_address(name, guess)
        return Reply(prompts.join(prefix, self._last_prompt), updates, False)

    def _like_earlier_answers(self, spec: FieldSpec, heard: Heard | None) -> Heard | None:
        """An address a letter or a sound off the caller's confirmed name is read back as the name
        ("emily.cardor19" → "emily.carter19"), and a company a sound off the caller's own email domain as the
        domain writes it ("Nordless Energy" at nordlys.no → "Nordlys Energy"), once: after a no to that guess, what
        the caller says stands."""
        if heard is None or spec.kind not in ("email", "company"):
            return heard
        earlier = "person_name" if spec.kind == "email" else "email"
        known = next((self.values[f.name] for f in self.definition.fields
                      if f.kind == earlier and f.name in self.values), None)
        if known is None:
            return heard
        said = str(heard.value.value)
        guess = like_the_name(said, str(known)) if spec.kind == "email" else like_the_domain(said, str(known))
        if guess is None or guess == self._rejected.get(spec.name):
            return heard
        return Heard(Normalized(guess, min(heard.value.confidence, GUESS_CONFIDENCE)), heard.reading,
                     heard.agreeing, heard.readings)

    @staticmethod
    def _spelled_correction(text: str) -> bool:
        return len(re.findall(r"(?<![\w'])[A-Za-z](?![\w'])", text)) >= 3

    def _confirm(self, spec: FieldSpec, value: Normalized, raw: str, turn: int, source: str,
                 prefix: str, updates: list[FieldUpdate]) -> Reply:
        self._pending = PendingValue(spec.name, value, raw, turn, source)
        self._last_prompt = prompts.confirm_question(spec, value.value, company_domain(self.values))
        return Reply(prompts.join(prefix, self._last_prompt), updates, False)

    def _handle_confirmation(self, text: str, kind: str, turn: int) -> Reply:
        pending = self._pending
        assert pending is not None
        spec = self.definition.field(pending.field)
        domain = company_domain(self.values)
        if spacing_note(spec.kind, pending.value.value, domain) and (how := spacing_reply(text)):
            return self._respaced(spec, respace(spec.kind, str(pending.value.value), how, domain), text, turn)
        if kind == "other" and sounds_like_no(text):
            kind = "no"
        if kind == "yes":
            if not is_yes(self._readings):  # most readings heard something else ("Brown" as "right on")
                return self._confirm_failed(prompts.YES_OR_NO)
            return self._next(self._ack(), [self._accept_pending()])
        rest = _YES_THEN.match(text)
        if kind == "other" and rest:  # "Yes, and I'm a PM at Acme": accept, then take the rest as an answer
            return self._then(self._accept_pending(), rest.group("rest"), turn)
        if kind == "dont_know" and not spec.confirm and self._next_is_optional(spec):
            # "skip" after a read-back asked only for low confidence: the caller skips the next (optional) question
            return self._then(self._accept_pending(), text, turn, always=True)
        if kind in ("no", "dont_know"):
            self._pending = None
            self._rejected[spec.name] = pending.value.value
            self._refuse(spec.name, pending)
            if spec.name in self.values:  # a rejected correction: ask for that field again
                self._focus = spec.name
            return self._spell_next(spec)
        if kind == "other" and (more := self._more_letters(spec, text)) is not None:
            return more
        named = target_field(correction_field_words(text), self.definition)
        if named is not None and named.name != spec.name:
            reply = self._handle_correction(text, turn)
            if reply is not None:
                return reply
        if kind == "other" and _stray_word(spec, pending.value.value, text):
            return self._confirm_failed(prompts.YES_OR_NO)
        payload = strip_correction(text) if kind == "correction" else text
        if kind == "correction":
            self._rejected.setdefault(spec.name, pending.value.value)
            self._refuse(spec.name, pending)
        readings = distinct([strip_correction(r) if kind == "correction" else r for r in self._readings])
        heard = self._hear(spec, payload, readings if readings[:1] == [payload] else [payload],
                           correcting=kind == "correction")
        value = Normalized(heard.value.value, heard.confidence) if heard else None
        if value is not None and spec.kind == "person_name":  # "Chen" for "I heard Olivia Chan": that word only
            value = Normalized(merge_name_word(str(pending.value.value), str(value.value)), value.confidence)
        if value is None and kind == "other" and set(extract_fields(text, self.definition)) - {spec.name}:
            return self._then(self._accept_pending(), text, turn)  # moved on to another answer: an implicit yes
        if kind == "other" and not spec.confirm and self._answers_next(spec, pending.value.value, value, text):
            if spec.name in self._rejected:  # the caller said no to this field before: only a yes confirms it
                return self._confirm_failed(prompts.YES_OR_NO)
            # a read-back asked only for low confidence, and the caller went on to the next question: a yes
            return self._then(self._accept_pending(), text, turn)
        if value is None:
            if kind == "correction":  # "no, it's ..." that we could not read: ask to spell it
                self._pending = None
                return self._spell_next(spec)
            return self._confirm_failed(prompts.YES_OR_NO)
        return self._confirm(spec, value, text, turn, pending.source, prompts.OKAY, [])

    def _respaced(self, spec: FieldSpec, value: str, text: str, turn: int) -> Reply:
        """"No, one word" to "North Star, two words": the spacing the caller gave, with no spelling; a name is
        read back again, a company kept (the caller said how it is written)."""
        pending = self._pending
        assert pending is not None
        if value == pending.value.value:  # "two words" to "North Star, two words": a yes
            return self._next(self._ack(), [self._accept_pending()])
        if spec.confirm:
            return self._confirm(spec, Normalized(value, 1.0), text, turn, "correction", prompts.OKAY, [])
        self._pending = PendingValue(spec.name, Normalized(value, 1.0), text, turn, "correction")
        return self._next(self._ack(), [self._accept_pending()])

    def _more_letters(self, spec: FieldSpec, text: str) -> Reply | None:
        """Letters right after a spelling was read back are the rest of it (a pause split the spelling in two
        turns): read back the whole spelling."""
        part = self._spelled_part
        if part is None or part[0] != spec.name or decode_spelled(text) is None:
            return None
        joined = f"{part[1].rstrip(' .!?')}, {text}"
        heard = self._like_earlier_answers(spec, hear_spelled(spec, [joined], self._rejected.get(spec.name),
                                                              self._refused.get(spec.name, [])))
        if heard is None:
            return None
        self._spelled_part = (spec.name, joined)
        value = Normalized(heard.value.value, heard.confidence)
        pending = self._pending
        assert pending is not None
        return self._confirm(spec, value, text, pending.turn_index, pending.source, prompts.OKAY, [])

    def _field_after(self, spec: FieldSpec) -> FieldSpec | None:
        handled = {*self.values, *self.flagged, *self.skipped, spec.name}
        return next((f for f in self.definition.fields if f.name not in handled), None)

    def _next_is_optional(self, spec: FieldSpec) -> bool:
        after = self._field_after(spec)
        return after is not None and not after.required

    def _answers_next(self, spec: FieldSpec, pending: str | int, heard: Normalized | None, text: str) -> bool:
        """The words are no new take on the value read back (nothing like it) but a valid answer to the question
        that comes after it: the caller moved on."""
        if heard is not None and difflib.SequenceMatcher(None, str(heard.value).lower(),
                                                         str(pending).lower()).ratio() >= 0.5:
            return False  # "Acme Corp" after "I heard ECME Corp": a correction, read back again
        after = self._field_after(spec)
        return after is not None and normalize_value(after, text) is not None

    def _spell_next(self, spec: FieldSpec) -> Reply:
        """After a "no": ask to spell (or say digit by digit); past max_attempts, flag it for staff and move on."""
        attempts = self._attempts.get(spec.name, 0) + 1
        self._attempts[spec.name] = attempts
        if attempts > self.definition.max_attempts:
            self._spelling = None
            self._give_up(spec)
            text = prompts.follow_up_later(spec) if spec.required else prompts.SKIP
            return self._next(text, [])
        self._spelling = spec.name if prompts.can_spell(spec) else None
        if self._spelling:
            if not self._ask_in_parts(spec):  # else: the first part of a value spelled whole before
                read_back = str(self._rejected.get(spec.name) or "")
                self._last_prompt = prompts.ask_to_spell(spec, wrong_part="@" in read_back)
        elif spec.kind == "phone":  # digits are heard as words: no spelling decoder, a slower way of saying them
            self._last_prompt = prompts.ask_for_digits(spec)
        elif spec.kind == "integer" and isinstance(rejected := self._rejected.get(spec.name), int) and (
                sounds_like_another_number(rejected)):  # "forty" or "fourteen": its digits tell them apart
            self._digits_of = spec.name
            self._last_prompt = prompts.ask_for_number_digits(spec)
        else:
            self._last_prompt = prompts.reask(spec, attempts)
        return Reply(prompts.join(prompts.SORRY, self._last_prompt), [], False)

    def _accept_pending(self) -> FieldUpdate:
        pending = self._pending
        assert pending is not None
        self._pending = None
        source = "correction" if pending.source == "correction" else "confirmation"
        spec = self.definition.field(pending.field)
        return self._accept(spec, pending.value, pending.raw, pending.turn_index, source)

    def _then(self, update: FieldUpdate, text: str, turn: int, always: bool = False) -> Reply:
        """Continue with the rest of an utterance after a confirmation it implied."""
        current = self.current
        useful = classify_reply(text) in ("stop", "correction") or extract_fields(text, self.definition) or (
            current is not None and normalize_value(current, text) is not None)
        if not useful and not always:  # "yes, that's me": nothing more to take from it
            return self._next(self._ack(), [update])
        follow = self.handle(text, turn)
        return Reply(follow.text, [update, *follow.updates], follow.done, follow.ended_by_caller)

    def _confirm_failed(self, prefix: str) -> Reply:
        pending = self._pending
        assert pending is not None
        spec = self.definition.field(pending.field)
        attempts = self._attempts.get(spec.name, 0) + 1
        self._attempts[spec.name] = attempts
        if attempts <= self.definition.max_attempts:
            return Reply(prompts.join(prefix, self._last_prompt), [], False)
        # no clear yes: keep the unconfirmed value at lower confidence and let staff check it
        self._pending = None
        weak = Normalized(pending.value.value, round(pending.value.confidence / 2, 2))
        update = self._accept(spec, weak, pending.raw, pending.turn_index, "answer")
        if spec.required and spec.name not in self.flagged:
            self.flagged.append(spec.name)
        return self._next(prompts.MOVE_ON, [update])


def _stray_word(spec: FieldSpec, read_back: str | int, text: str) -> bool:
    """One word like no word of the name read back ("Now." heard for the "No." said to "I heard Olivia Chen"):
    a misheard yes or no, not a new name; "Chen" for "I heard Olivia Chan" is a correction."""
    if spec.kind != "person_name":
        return False
    words = re.findall(r"[a-z']+", text.lower())
    return len(words) == 1 and all(difflib.SequenceMatcher(None, words[0], old).ratio() < 0.5
                                   for old in str(read_back).lower().split())
