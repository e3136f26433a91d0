"""The SQLModel tables: the only place tables are defined.

A call is a CallSession; everything said is a Turn written as it happens; the Profile holds the
current value of each field and FieldValue keeps every value a field ever had with the turn it
came from (provenance), so a changed interview definition needs no schema migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware UTC: sqlmodel refuses naive datetimes."""
    return datetime.now(UTC)


class CallSession(SQLModel, table=True):
    # the usage page's month range and peak-concurrency sweep read (started_at, ended_at, mode) only
    __table_args__ = (Index("ix_callsession_started_ended_mode", "started_at", "ended_at", "mode"),)

    id: int | None = Field(default=None, primary_key=True)
    # the recorder's own key for the call (a UUID made before any write): a spooled write replayed twice finds
    # its call by it and stores once; None for calls recorded before it existed
    call_key: str | None = Field(default=None, unique=True, index=True)
    room_name: str = Field(index=True)
    mode: str = "voice"  # voice | rest
    participant_identity: str | None = None
    user_id: str | None = Field(default=None, index=True)
    worker_id: str | None = None
    status: str = Field(default="in_progress", index=True)  # in_progress|completed|abandoned|failed
    status_reason: str | None = None
    started_at: datetime = Field(default_factory=utcnow, index=True)
    ended_at: datetime | None = None
    stt_provider: str = ""
    llm_provider: str = ""
    tts_provider: str = ""
    agent_seconds: float = 0.0
    stt_audio_seconds: float = 0.0
    tts_characters: int = 0
    llm_input_tokens: int = 0
    llm_output_tokens: int = 0
    usage_detail: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    # a cloud provider replaced mid-call by the local one: [{role, from, to, reason, at}], None when none failed
    provider_fallbacks: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # connection wall time of a streaming cloud STT (what Deepgram bills), None for local STT
    stt_billed_seconds: float | None = None
    # touched by the writer of a call in progress; a call whose writer went quiet is closed by a reaper
    heartbeat_at: datetime | None = None
    # when the retention purge blanked this call's transcript (TRANSCRIPT_RETENTION_DAYS), None while kept
    transcript_purged_at: datetime | None = None
    # which interview definition ran the call (a short hash of its fields and questions): the funnel per version
    definition_hash: str | None = None
    # the page that embedded the widget (the token request's Origin header): cost per embedding site
    origin: str | None = Field(default=None, index=True)
    # when the dashboard's post-call digest read the closed call (funnel rows, review items, webhook event)
    digested_at: datetime | None = Field(default=None, index=True)


class Turn(SQLModel, table=True):
    # A transcript is read in order per call: one index range scan instead of a sort. Unique: a turn replayed
    # from the spool lands on its own (session, index) instead of a second row.
    __table_args__ = (Index("ix_turn_session_index", "session_id", "index", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="callsession.id", index=True)
    index: int  # order within the session
    role: str  # user | agent
    text: str
    message_id: str | None = None
    interrupted: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    e2e_latency: float | None = None
    transcription_delay: float | None = None
    end_of_turn_delay: float | None = None
    llm_ttft: float | None = None
    tts_ttfb: float | None = None
    # the compressed clip of this turn (what the STT heard / what the agent played): a key in the audio store
    audio_key: str | None = None
    audio_seconds: float | None = None
    # an agent turn: the field it asks for, and whether it reads a value back for a yes/no
    asked_field: str | None = None
    read_back: bool = False


class Profile(SQLModel, table=True):
    # The profiles page filters by completion and pages newest first: both from one index.
    __table_args__ = (Index("ix_profile_completed_created", "completed", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="callsession.id", index=True, unique=True)
    user_id: str | None = Field(default=None, index=True)
    full_name: str | None = None
    email: str | None = Field(default=None, index=True)
    company: str | None = None
    role: str | None = None
    team_size: int | None = None
    primary_goal: str | None = None
    phone: str | None = None
    timezone: str | None = None
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    flagged: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    completed: bool = Field(default=False, index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    reviewed_at: datetime | None = Field(default=None, index=True)
    reviewed_by: str | None = None


class FieldValue(SQLModel, table=True):
    """One value a profile field had: where it came from and whether it is still current."""

    # `seq` numbers the values a call's recorder wrote (staff corrections have none): a replayed write stores once
    __table_args__ = (Index("ix_fieldvalue_profile_seq", "profile_id", "seq", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", index=True)
    field: str
    value: str
    raw_text: str
    confidence: float = 1.0
    source: str = "answer"  # answer | correction | confirmation | staff
    turn_id: int | None = Field(default=None, foreign_key="turn.id", index=True)  # FK checks on turn delete
    current: bool = True
    changed_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    seq: int | None = None


class RoomGrant(SQLModel, table=True):
    """A room name the server handed out: who it was issued to, from where, and until when it counts.

    A room is granted once (room_name is unique), so a name that was ever used or reserved opens nothing
    again. A REST session's credential is kept as its SHA-256 (it is random, so a fast hash is enough).
    """

    # the per-client cap counts a client's grants that have not expired yet
    __table_args__ = (Index("ix_roomgrant_client_expires", "client_address", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    room_name: str = Field(unique=True, index=True)
    mode: str = "voice"  # voice | rest
    identity: str  # the LiveKit identity of the token (voice) or the REST session's participant identity
    client_address: str | None = None
    credential_hash: str | None = Field(default=None, unique=True, index=True)  # REST session credential, SHA-256 hex
    api_key_id: str | None = None  # the REST_API_KEYS key that started a REST session (a fingerprint, not the key)
    issued_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class StaffUser(SQLModel, table=True):
    """A named staff member of the admin pages: what "corrected by" and "reviewed by" show."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    password_hash: str  # argon2id (argon2-cffi's PasswordHasher)
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class StaffSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the table its SHA-256 and when it stops counting."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True)
    username: str = Field(index=True)
    client_address: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class ReviewItem(SQLModel, table=True):
    """A field that needs a human, from the post-call digest: why, and who settled it and when."""

    # the queue reads open items by priority: one index range scan, no sort
    __table_args__ = (Index("ix_reviewitem_open_queue", "resolved_at", "priority", "confidence", "id"),
                      Index("ix_reviewitem_profile_field", "profile_id", "field", unique=True))

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id")
    field: str
    value_id: int | None = Field(default=None, foreign_key="fieldvalue.id")  # None: flagged with no value heard
    reasons: str  # comma-separated: flagged, rejected_read_back, low_confidence, corrected, typed
    priority: int  # 0 = most urgent (the first reason's rank)
    confidence: float = 1.0
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    action: str | None = None  # approved | fixed | signed_off


class CallFieldStat(SQLModel, table=True):
    """What happened to one field in one closed call, for the funnel and the slowest-questions ranking."""

    __table_args__ = (Index("ix_callfieldstat_session_field", "session_id", "field", unique=True),
                      Index("ix_callfieldstat_started", "started_at", "definition_hash"))

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="callsession.id")
    field: str
    started_at: datetime  # the call's start: the month it counts in
    definition_hash: str | None = None
    reached: bool = False
    answered_first_time: bool = False
    reasked: bool = False
    corrected: bool = False
    skipped: bool = False
    flagged: bool = False
    hung_up: bool = False
    seconds: float | None = None  # from the first question to the move to another field
    answer_turns: int = 0  # caller turns spent on it
    replies: int = 0  # agent replies to those answers that have a voice-to-voice figure
    reply_seconds_total: float = 0.0
    reply_seconds_max: float | None = None


class WebhookEvent(SQLModel, table=True):
    """The outbox: an event written in the transaction that caused it, delivered by the dashboard's dispatcher."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True)  # the idempotency key receivers see, the same on every retry
    type: str  # profile.completed | profile.reviewed | profile.deleted
    profile_id: int | None = Field(default=None, index=True)  # no foreign key: a deleted profile keeps its events
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    fanned_out: bool = Field(default=False, index=True)  # a delivery row exists per configured URL


class WebhookDelivery(SQLModel, table=True):
    """One event to one URL: its attempts, the last answer, and when to try again."""

    __table_args__ = (Index("ix_webhookdelivery_due", "status", "next_attempt_at"),
                      Index("ix_webhookdelivery_event_url", "event_id", "url", unique=True))

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="webhookevent.id")
    url: str
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_until: datetime | None = None  # a dispatcher is sending it now (several dashboards never send twice)
    last_status_code: int | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    # every attempt's answer, oldest first: [{at, status_code, error}] (the last MAX_ANSWERS_KEPT)
    answers: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))


TYPED_PROFILE_COLUMNS = (
    "full_name", "email", "company", "role", "team_size", "primary_goal", "phone", "timezone",
)



class WorkerStatus(SQLModel, table=True):
    """A running agent worker's calls and capacity, rewritten by the worker every few seconds: the token route tells
    a caller "all agents are busy" from these rows, the rooms page shows them, doctor compares them."""

    worker_id: str = Field(primary_key=True)  # livekit-agents' worker id (as CallSession.worker_id)
    agent_name: str = Field(index=True)
    host: str = ""
    executor: str = ""  # process | thread
    active_jobs: int = 0
    max_jobs: int = 1  # MAX_JOBS_PER_WORKER of that worker
    started_at: datetime = Field(default_factory=utcnow)
    seen_at: datetime = Field(default_factory=utcnow, index=True)
