"""An address spelled in two parts: the part before the at, then the domain, each a shorter spelling.

A whole address spelled with a word for each letter runs 20–40 s, and Whisper tiny loses letters of it (held-out
runs: "vikram dot menon at malabar exports dot in" spelled whole and refused twice). After the caller has refused
an address they spelled whole, the agent asks for it in two parts, as an operator does on a bad line, and reads
back the address the two make. A mixin of `InterviewState`, like `ReadBack`.
"""

from __future__ import annotations

from onboarding.interview import prompts
from onboarding.interview.definition import FieldSpec
from onboarding.interview.hearing import SPELLED_CONFIDENCE
from onboarding.interview.normalize import Normalized, normalize_value
from onboarding.interview.spelling import decode_spelled
from onboarding.interview.turns import Reply

_SOME_DOMAIN = "example.com"  # to validate a part before the at on its own


class AddressParts:
    """The two-part steps of the interview state (see InterviewState for the attributes they use)."""

    def _ask_in_parts(self, spec: FieldSpec) -> bool:
        """Ask for the part before the at when the caller has refused an address they spelled whole."""
        if spec.kind != "email" or spec.name not in self._spelled_whole:
            return False
        self._address_part, self._local_part = "local", ""
        self._last_prompt = prompts.ask_for_address_part("local")
        return True

    def _hear_address_part(self, spec: FieldSpec, text: str, turn: int, source: str) -> Reply | None:
        """One part of an address spelled in two parts; None when the caller spelled it whole after all (an "at"
        in it: heard as any spelled address is)."""
        readings = self._readings if self._readings[:1] == [text] else [text]
        letters = [spelled.text.replace(" ", "") for spelled in map(decode_spelled, readings) if spelled]
        if any("@" in part for part in letters):
            self._address_part = None
            return None
        refused = self._refused.get(spec.name, [])
        if self._address_part == "local":
            local = next((part for part in letters if normalize_value(spec, f"{part}@{_SOME_DOMAIN}")), None)
            if local is None:
                return self._failed(spec, [], spelling=True)
            self._address_part, self._local_part = "domain", local
            self._last_prompt = prompts.ask_for_address_part("domain")
            return Reply(self._last_prompt, [], False)
        values = (normalize_value(spec, f"{self._local_part}@{part.strip('.')}") for part in letters)
        value = next((v for v in values if v is not None and v.value not in refused), None)
        if value is None:
            return self._failed(spec, [], spelling=True)
        self._address_part = self._spelling = None
        self._spelled_part = None
        return self._confirm(spec, Normalized(value.value, SPELLED_CONFIDENCE), text, turn, source, "", [])
