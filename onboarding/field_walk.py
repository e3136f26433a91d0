"""One closed call read as a walk through the interview's fields: a pure function of its turns and field values.

Each agent turn carries the field it asks for (`asked_field`, `read_back` for a value read back); a caller turn
answers the field the agent last asked. From that: whether a field was reached, answered at the first asking,
asked again, corrected, skipped or flagged, whether the caller hung up on it, how long and how many caller turns it
took, how fast the agent replied to its answers, and which read-backs the caller did not confirm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class WalkTurn:
    role: str
    created_at: datetime
    asked_field: str | None = None
    read_back: bool = False
    e2e_latency: float | None = None


@dataclass(frozen=True)
class WalkValue:
    field: str
    source: str
    current: bool


@dataclass
class FieldWalk:
    field: str
    asks: int = 0  # questions (not read-backs)
    read_backs: int = 0
    rejected_read_backs: int = 0  # a read-back followed by the same field asked again: not a clear yes
    answer_turns: int = 0
    seconds: float = 0.0
    replies: list[float] = field(default_factory=list)
    has_value: bool = False  # a value the caller gave (staff corrections do not count)
    corrected: bool = False
    flagged: bool = False
    skipped: bool = False
    hung_up: bool = False

    @property
    def reached(self) -> bool:
        return self.asks > 0 or self.read_backs > 0 or self.has_value

    @property
    def reasked(self) -> bool:
        return self.asks > 1

    @property
    def answered_first_time(self) -> bool:
        return (self.has_value and self.asks <= 1 and not self.rejected_read_backs and not self.corrected
                and not self.flagged)

    def row(self) -> dict[str, Any]:
        """The CallFieldStat columns."""
        return {"field": self.field, "reached": self.reached, "answered_first_time": self.answered_first_time,
                "reasked": self.reasked, "corrected": self.corrected, "skipped": self.skipped,
                "flagged": self.flagged, "hung_up": self.hung_up,
                "seconds": round(self.seconds, 3) if self.asks or self.read_backs else None,
                "answer_turns": self.answer_turns, "replies": len(self.replies),
                "reply_seconds_total": round(sum(self.replies), 4),
                "reply_seconds_max": max(self.replies) if self.replies else None}


def walk_call(turns: list[WalkTurn], values: list[WalkValue], fields: list[str], flagged: list[str],
              status: str, ended_at: datetime | None) -> dict[str, FieldWalk] | None:
    """Per field of the call (definition order first), or None when no agent turn names a field (a call recorded
    without tags: nothing to walk)."""
    if not any(t.asked_field for t in turns if t.role == "agent"):
        return None
    names = list(fields) + sorted({v.field for v in values} - set(fields))
    walks = {name: FieldWalk(name) for name in names}

    def walk(name: str) -> FieldWalk:
        return walks.setdefault(name, FieldWalk(name))

    asking: str | None = None
    asked_at: datetime | None = None
    last_read_back: str | None = None
    answered: str | None = None  # the field of the caller turn waiting for the agent's reply
    for turn in turns:
        if turn.role == "user":
            if asking is not None:
                walk(asking).answer_turns += 1
            answered = asking
            continue
        if answered is not None and turn.e2e_latency is not None:
            walk(answered).replies.append(turn.e2e_latency)
        answered = None
        if asking is not None and asked_at is not None:
            walk(asking).seconds += (turn.created_at - asked_at).total_seconds()
        if last_read_back is not None and turn.asked_field == last_read_back:
            walk(last_read_back).rejected_read_backs += 1
        asking, asked_at = turn.asked_field, turn.created_at
        last_read_back = turn.asked_field if turn.read_back else None
        if asking is not None:
            if turn.read_back:
                walk(asking).read_backs += 1
            else:
                walk(asking).asks += 1
    if asking is not None and asked_at is not None and ended_at is not None:
        walk(asking).seconds += max(0.0, (ended_at - asked_at).total_seconds())
    for value in values:
        if value.source != "staff":
            walk(value.field).has_value = True
        if value.source == "correction":
            walk(value.field).corrected = True
    for name in flagged:
        walk(name).flagged = True
    # the field open when the call ended early (the caller left, or said goodbye and confirmed it)
    last_asked = next((t.asked_field for t in reversed(turns) if t.role == "agent" and t.asked_field), None)
    for item in walks.values():
        item.hung_up = status == "abandoned" and item.field == last_asked and not item.has_value
        item.skipped = (item.reached and not item.has_value and not item.flagged and not item.hung_up)
    return {name: item for name, item in walks.items() if item.reached or item.flagged}
