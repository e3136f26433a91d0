"""The records a turn produces: field updates with provenance, and the reply to speak.

Kept apart from the state machine so the recorder, the REST mode and LLM tools can import them
without the interviewer's rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from onboarding.interview.normalize import Normalized

Value = str | int


@dataclass
class FieldUpdate:
    """One value a field took, with where it came from (provenance for the profile)."""

    field: str
    value: Value
    raw: str
    confidence: float
    turn_index: int
    previous: Value | None
    source: str  # "answer" | "correction" | "confirmation" | "tool" | "typed" (by the caller, in the widget)


@dataclass
class Reply:
    """What to say next, the field changes this turn made, and whether the call should end."""

    text: str
    updates: list[FieldUpdate]
    done: bool
    ended_by_caller: bool = False
    waiting: bool = False  # the caller asked for a moment: a long silence is no silent caller


@dataclass
class PendingValue:
    """A heard value waiting for the caller's yes before it is stored."""

    field: str
    value: Normalized
    raw: str
    turn_index: int
    source: str


@dataclass(frozen=True)
class Outcome:
    """How a call ended: its status (completed | abandoned | failed), why, and whether the profile is complete."""

    status: str
    reason: str | None = None
    profile_complete: bool = False
