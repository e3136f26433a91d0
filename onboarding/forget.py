"""What deleting a profile removes besides its rows: its review items and funnel rows, its turns' audio clips, and the
webhook saying it is gone (its earlier events scrubbed). `delete_profile` calls `forget_profile` in its own
transaction, before it deletes the field values and turns these point at.

The clips are files, outside the transaction: they are removed once it commits (a rolled-back deletion keeps them).
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, event
from sqlmodel import Session, select

from models import CallFieldStat, Profile, ReviewItem, Turn
from onboarding.audio.storage import AudioStore, default_store
from onboarding.webhooks import events

log = logging.getLogger("onboarding.forget")


def forget_profile(db: Session, profile: Profile, store: AudioStore | None = None) -> None:
    keys = [key for key in db.exec(select(Turn.audio_key).where(Turn.session_id == profile.session_id,
                                                                Turn.audio_key.is_not(None)))]
    db.exec(delete(ReviewItem).where(ReviewItem.profile_id == profile.id))
    db.exec(delete(CallFieldStat).where(CallFieldStat.session_id == profile.session_id))
    events.profile_deleted(db, profile)
    if keys:
        audio = store or default_store()

        def remove_clips(_session: Session) -> None:
            removed = audio.delete(keys)
            log.info("profile audio deleted", extra={"session_id": profile.session_id, "clips": removed})

        event.listen(db, "after_commit", remove_clips, once=True)
