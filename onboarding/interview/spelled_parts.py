"""A long value spelled in two parts: an address's part before the at and then its domain, a name's first name
and then its surname. Each part is a shorter spelling.

A whole address spelled with a word for each letter runs 20–40 s, a two-word name 20–30 s, and Whisper tiny loses
letters of them, sometimes a whole word (held-out runs: "vikram dot menon at malabar exports dot in" spelled whole
and refused twice; "Rosalind Achterberg" spelled whole and heard as its surname alone). After the caller has refused
a value they spelled whole, the agent asks for it in two parts, as an operator does on a bad line, and reads back
the value the two make. A mixin of `InterviewState`, like `ReadBack`.
"""

from __future__ import annotations

import re

from onboarding.interview import prompts
from onboarding.interview.attempts import words_of
from onboarding.interview.definition import FieldSpec
from onboarding.interview.hearing import SPELLED_CONFIDENCE
from onboarding.interview.normalize import Normalized, normalize_value
from onboarding.interview.spelling import OTHER_WAYS, decode_spelled
from onboarding.interview.turns import Reply

PARTS = {"email": ("local", "domain"), "person_name": ("first", "last")}
_SOME_DOMAIN = "example.com"  # to validate a part before the at on its own


def spelled_whole(kind: str, letters: str) -> bool:
    """The spelling gave the whole value: an address with its at, a name of more than one word."""
    return "@" in letters if kind == "email" else kind == "person_name" and len(letters.split()) > 1


def _letters(kind: str, text: str) -> list[str]:
    """The letters a spelled part says, its usual reading first, then its other readings (a W before a key word
    as that letter, letters said plainly among key words kept), each once."""
    found: list[str] = []
    for way in ({}, *OTHER_WAYS):
        spelled = decode_spelled(text, **way)
        if spelled is None:
            continue
        # (a full stop Whisper put after a letter of a name is no part of it)
        letters = spelled.text.replace(" ", "") if kind == "email" else re.sub(r"[^\w' -]", "", spelled.text).strip()
        if letters and letters not in found:
            found.append(letters)
    return found


def _most_known_first(parts: list[str], known: set[str]) -> list[str]:
    """`parts` with those that make more words the call has heard first, in their order otherwise: a domain
    spelled "swiftlaneloogistics dot coom" ("O as in Oscar" heard "W as in Oscar", read as double O) gives way to
    its other reading "swiftlanelogistics.com", the words of the address first heard."""
    return sorted(parts, key=lambda part: -sum(word in known for word in re.findall(r"[a-z]+", part.lower())))


def _joined(kind: str, first: str, second: str) -> str:
    return f"{first}@{second.strip('.')}" if kind == "email" else f"{first} {second}"


class SpelledParts:
    """The two-part steps of the interview state (see InterviewState for the attributes they use)."""

    def _ask_in_parts(self, spec: FieldSpec) -> bool:
        """Ask for the first part when the caller has refused a value of this field they spelled whole."""
        if spec.kind not in PARTS or spec.name not in self._spelled_whole:
            return False
        self._part, self._first_part = PARTS[spec.kind][0], ""
        self._last_prompt = prompts.ask_for_part(self._part)
        return True

    def _hear_part(self, spec: FieldSpec, text: str, turn: int, source: str) -> Reply | None:
        """One part of a value spelled in two parts; None when the caller spelled it whole after all (heard as
        any spelled value is)."""
        readings = self._readings if self._readings[:1] == [text] else [text]
        each = [_letters(spec.kind, reading) for reading in readings]  # every reading's letters, its usual first
        firsts = [found[0] for found in each if found]
        first, second = PARTS[spec.kind]
        if self._part == first and any(spelled_whole(spec.kind, part) for part in firsts):
            self._part = None
            return None
        refused = self._refused.get(spec.name, [])
        known = words_of(*refused, *(value for name, value in self.values.items() if name != spec.name))
        letters = _most_known_first([part for found in each for part in found], known)
        if self._part == first:
            alone = (f"{part}@{_SOME_DOMAIN}" if spec.kind == "email" else part for part in letters)
            heard = next((part for part, value in zip(letters, alone, strict=True)
                          if normalize_value(spec, value) is not None), None)
            if heard is None:
                return self._failed(spec, [], spelling=True)
            self._part, self._first_part = second, heard
            self._last_prompt = prompts.ask_for_part(second)
            return Reply(prompts.join(prompts.ACKS[0], self._last_prompt), [], False)
        values = (normalize_value(spec, _joined(spec.kind, self._first_part, part)) for part in letters)
        value = next((v for v in values if v is not None and v.value not in refused), None)
        if value is None:
            return self._failed(spec, [], spelling=True)
        self._part = self._spelling = self._spelled_part = None
        return self._confirm(spec, Normalized(value.value, SPELLED_CONFIDENCE), text, turn, source, "", [])
