"""Reading calls back: one call with its turns, profile and field provenance."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from models import CallSession, FieldValue, Profile, Turn
from onboarding.db import session_scope


@dataclass
class CallRecord:
    call: CallSession
    turns: list[Turn]
    profile: Profile
    field_values: list[FieldValue]

    @property
    def user_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.role == "user"]

    @property
    def agent_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.role == "agent"]

    def current_values(self) -> dict[str, FieldValue]:
        return {v.field: v for v in self.field_values if v.current}


def load_call(db_url: str, room_name: str) -> CallRecord | None:
    """The latest call in a room, or None if no call was recorded there."""
    with session_scope(db_url) as db:
        call = db.exec(select(CallSession).where(CallSession.room_name == room_name)
                       .order_by(CallSession.id.desc())).first()
        if call is None:
            return None
        turns = list(db.exec(select(Turn).where(Turn.session_id == call.id).order_by(Turn.index)))
        profile = db.exec(select(Profile).where(Profile.session_id == call.id)).one()
        values = list(db.exec(select(FieldValue).where(FieldValue.profile_id == profile.id)
                              .order_by(FieldValue.id)))
        return CallRecord(call, turns, profile, values)
