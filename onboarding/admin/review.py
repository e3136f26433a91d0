"""One profile under review: its values with their provenance and transcript, the providers that served its call
(with any fallback and why, and what each was metered for), staff corrections, sign-off.

A staff correction is recorded exactly like a value heard on the call (a FieldValue, the old one kept
as history) with source "staff" and the staff member's name, and it must pass the same normaliser the
interview uses, so the profile never holds a value the agent itself would have refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from models import TYPED_PROFILE_COLUMNS, CallSession, FieldValue, Profile, ReviewItem, Turn, utcnow
from onboarding.db import session_scope
from onboarding.interview import FieldSpec, InterviewDefinition, normalize_value
from onboarding.usage.metering import KIND_NAMES, Fallback, ProviderUse, parse_fallbacks, split_usage
from onboarding.webhooks import events

EXAMPLES = {
    "email": "an address like maria.garcia@example.com",
    "person_name": "a first and last name, like Maria Garcia",
    "phone": "a number valid in its country (libphonenumber), with the country code, like +1 415 555 0132",
    "integer": "a whole number",
    "timezone": "a time zone like Europe/London or a city like London",
    "free_text": "a sentence of at least a few words",
    "company": "the company name",
    "role": "a job title, like product manager",
    "choice": "one of the listed choices",
}


class CorrectionError(ValueError):
    """A correction staff cannot save; the message says why and what would be accepted."""


@dataclass
class FieldProvenance:
    """A field's current value (None if never heard) and its earlier values, newest first."""

    name: str
    label: str
    current: FieldValue | None
    history: list[FieldValue] = field(default_factory=list)
    flagged: bool = False


@dataclass
class ProfileDetail:
    profile: Profile
    call: CallSession
    fields: list[FieldProvenance]
    turns: list[Turn]

    @property
    def source_turn_ids(self) -> set[int]:
        """The turns the current values were heard in (highlighted in the transcript)."""
        return {f.current.turn_id for f in self.fields if f.current and f.current.turn_id is not None}

    @property
    def providers(self) -> list[ProviderUse]:
        """STT, LLM, TTS: the provider the call started with, then any that took over, with their figures."""
        return split_usage(self.call)

    @property
    def fallbacks(self) -> list[Fallback]:
        return parse_fallbacks(self.call.provider_fallbacks)


def describe_use(use: ProviderUse) -> str:
    """The figures a provider is metered (and billed) in: "42.5 s audio, 61.0 s billed", "1,234 characters"."""
    if use.kind == "stt":
        return f"{use.audio_seconds:,.1f} s audio, {use.billed_seconds:,.1f} s billed"
    if use.kind == "tts":
        return f"{use.characters:,} characters"
    return f"{use.input_tokens:,} input / {use.output_tokens:,} output tokens"


def describe_fallback(fallback: Fallback) -> str:
    """One line staff can act on: what failed, what took over, when (UTC) and why."""
    when = f" at {fallback.at.strftime('%Y-%m-%d %H:%M:%S')} UTC" if fallback.at else ""
    return (f"{KIND_NAMES.get(fallback.kind, fallback.kind.upper())}: {fallback.from_provider} → "
            f"{fallback.to_provider}{when} — {fallback.reason}")


def load_profile_detail(db_url: str, profile_id: int, definition: InterviewDefinition) -> ProfileDetail | None:
    """The profile, its call, every field value grouped per field (interview order first) and the transcript."""
    with session_scope(db_url) as db:
        profile = db.get(Profile, profile_id)
        if profile is None:
            return None
        call = db.get(CallSession, profile.session_id)
        turns = list(db.exec(select(Turn).where(Turn.session_id == profile.session_id).order_by(Turn.index)))
        values = list(db.exec(select(FieldValue).where(FieldValue.profile_id == profile_id)
                              .order_by(FieldValue.id.desc())))
    labels = {spec.name: spec.label for spec in definition.fields}
    names = list(labels) + sorted({v.field for v in values} - set(labels))
    flagged = set(profile.flagged or [])
    fields = []
    for name in names:
        own = [v for v in values if v.field == name]
        current = next((v for v in own if v.current), None)
        fields.append(FieldProvenance(name, labels.get(name, name.replace("_", " ")), current,
                                      [v for v in own if v is not current], name in flagged))
    return ProfileDetail(profile, call, fields, turns)


def _validate(spec: FieldSpec, text: str) -> str | int:
    if not text.strip():
        raise CorrectionError(f"Enter a value for {spec.label}.")
    result = normalize_value(spec, text)
    if result is None:
        expected = EXAMPLES.get(spec.kind, f"a valid {spec.label}")
        if spec.kind == "integer" and (spec.min is not None or spec.max is not None):
            low, high = ("…" if bound is None else bound for bound in (spec.min, spec.max))
            expected += f" from {low} to {high}"
        if spec.choices:
            expected += f" ({', '.join(spec.choices)})"
        raise CorrectionError(f"{text!r} is not a valid {spec.label}: expected {expected}.")
    return result.value


def correct_field(db_url: str, profile_id: int, field_name: str, text: str, changed_by: str,
                  definition: InterviewDefinition) -> str | int:
    """Save a staff correction and return the stored (normalised) value; raises CorrectionError if refused."""
    try:
        spec = definition.field(field_name)
    except KeyError:
        raise CorrectionError(f"Unknown field {field_name!r}: choose one of {', '.join(definition.names)}.") from None
    value = _validate(spec, text)
    with session_scope(db_url) as db:
        profile = db.get(Profile, profile_id)
        if profile is None:
            raise CorrectionError(f"Profile {profile_id} no longer exists.")
        for old in db.exec(select(FieldValue).where(FieldValue.profile_id == profile_id,
                                                    FieldValue.field == field_name, FieldValue.current)):
            old.current = False
            db.add(old)
        db.add(FieldValue(profile_id=profile_id, field=field_name, value=str(value), raw_text=text.strip(),
                          confidence=1.0, source="staff", changed_by=changed_by))
        profile.answers = {**(profile.answers or {}), field_name: value}
        profile.flagged = [name for name in (profile.flagged or []) if name != field_name]
        if field_name in TYPED_PROFILE_COLUMNS:
            setattr(profile, field_name, value)
        profile.updated_at = utcnow()
        db.add(profile)
        resolve_open(db, profile_id, field_name, changed_by, "fixed")  # the review queue's item for it
    return value


def resolve_open(db: Session, profile_id: int, field: str | None, by: str, action: str) -> int:
    """Settle a profile's open items (one field's, or all of them) inside the caller's transaction."""
    stmt = select(ReviewItem).where(ReviewItem.profile_id == profile_id, ReviewItem.resolved_at.is_(None))
    if field is not None:
        stmt = stmt.where(ReviewItem.field == field)
    items = db.exec(stmt).all()
    now = utcnow()
    for item in items:
        item.resolved_at, item.resolved_by, item.action = now, by, action
        db.add(item)
    return len(items)


def mark_reviewed(db_url: str, profile_id: int, reviewed_by: str) -> Profile | None:
    """Record who signed the profile off and when; None when the profile is gone."""
    with session_scope(db_url) as db:
        profile = db.get(Profile, profile_id)
        if profile is None:
            return None
        profile.reviewed_at, profile.reviewed_by = utcnow(), reviewed_by
        db.add(profile)
        resolve_open(db, profile_id, None, reviewed_by, "signed_off")
        db.flush()
        events.profile_reviewed(db, profile)  # the webhook, in the sign-off's own transaction
        return profile
