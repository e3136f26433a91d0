"""Which provider served what in one call: the metered figures split per provider, and the fallbacks with reasons.

A call records one label per kind (the provider it started with, e.g. "deepgram/nova-3") and totals per kind.
When a cloud provider fell back to the local one mid-call, the totals mix both, so they are split with the
per-provider usage livekit-agents reported (`usage_detail`). The connection time Deepgram bills
(`stt_billed_seconds`) belongs to the cloud STT the call started with; a local provider bills what it heard, at
no charge. The profile detail applies these rules to one call; onboarding.usage.fallbacks applies the same
rules in SQL to a month, so the usage page adds up what the call records show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

KINDS = ("stt", "llm", "tts")
KIND_NAMES = {"stt": "STT", "llm": "LLM", "tts": "TTS"}
NOT_RECORDED = "(not recorded)"
USAGE_KINDS = {"stt_usage": "stt", "tts_usage": "tts", "llm_usage": "llm"}  # livekit-agents ModelUsage.type


class MeteredCall(Protocol):
    """The CallSession columns used here (a CallSession, or a row selected with the same names)."""

    stt_provider: str
    tts_provider: str
    llm_provider: str
    stt_audio_seconds: float
    stt_billed_seconds: float | None
    tts_characters: int
    llm_input_tokens: int
    llm_output_tokens: int
    provider_fallbacks: list[dict[str, Any]] | None
    usage_detail: list[dict[str, Any]] | None


@dataclass(frozen=True)
class Fallback:
    kind: str  # stt | tts | llm
    from_provider: str
    to_provider: str
    reason: str
    at: datetime | None


@dataclass
class ProviderUse:
    """What one provider did in a call (or a month): the figures its kind is metered in."""

    kind: str
    provider: str
    fallback: bool = False  # took over from the provider the call started with
    audio_seconds: float = 0.0  # STT: audio heard
    billed_seconds: float = 0.0  # STT: what the service bills (Deepgram: connection time; local: audio heard)
    characters: int = 0  # TTS
    input_tokens: int = 0  # LLM
    output_tokens: int = 0

    @property
    def used(self) -> bool:
        return bool(self.audio_seconds or self.billed_seconds or self.characters or self.input_tokens
                    or self.output_tokens)

    def add(self, other: ProviderUse) -> None:
        self.audio_seconds += other.audio_seconds
        self.billed_seconds += other.billed_seconds
        self.characters += other.characters
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens


def parse_fallbacks(raw: list[dict[str, Any]] | None) -> list[Fallback]:
    """The stored records ({role, from, to, reason, at}; "kind" accepted for "role"), oldest first."""
    events = []
    for item in raw or []:
        if not isinstance(item, dict):
            continue
        at = item.get("at")
        try:
            moment = datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            moment = None
        if moment is not None:  # stored as UTC ISO text; a naive one is UTC too
            moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        events.append(Fallback(str(item.get("role") or item.get("kind") or "?").lower(), str(item.get("from", "")),
                               str(item.get("to", "")), str(item.get("reason") or "unavailable"), moment))
    return events


def split_usage(call: MeteredCall) -> list[ProviderUse]:
    """Per kind (STT, LLM, TTS): the starting provider first, then any that took over, each with its figures.

    A call that fell back and has per-model usage is split by that usage (every kind); otherwise the call's
    totals belong to the providers it started with. onboarding.usage.fallbacks applies the same rules in SQL.
    """
    fallbacks = parse_fallbacks(call.provider_fallbacks)
    entries = [u for u in call.usage_detail or [] if isinstance(u, dict)]
    primaries = {kind: getattr(call, f"{kind}_provider") or NOT_RECORDED for kind in KINDS}
    if not fallbacks or not entries:
        return [_totals(kind, primaries[kind], call) for kind in KINDS]
    per_label: dict[tuple[str, str], ProviderUse] = {}
    for kind in KINDS:
        per_label[kind, primaries[kind]] = ProviderUse(kind, primaries[kind])
        for target in (f.to_provider for f in fallbacks if f.kind == kind and f.to_provider):
            per_label.setdefault((kind, target), ProviderUse(kind, target, fallback=True))
    for entry in entries:
        kind = USAGE_KINDS.get(str(entry.get("type")))
        if kind is None:
            continue
        targets = [label for (k, label), use in per_label.items() if k == kind and use.fallback]
        label = label_for(entry.get("provider"), entry.get("model"), primaries[kind], targets)
        use = per_label.setdefault((kind, label), ProviderUse(kind, label, fallback=label != primaries[kind]))
        use.add(from_entry(kind, label, entry))
    for use in per_label.values():
        use.billed_seconds = use.audio_seconds
    if call.stt_billed_seconds is not None:
        per_label["stt", primaries["stt"]].billed_seconds = float(call.stt_billed_seconds)
    return sorted(per_label.values(), key=lambda use: KINDS.index(use.kind))


def _totals(kind: str, label: str, call: MeteredCall) -> ProviderUse:
    if kind == "stt":
        audio = float(call.stt_audio_seconds or 0.0)
        billed = audio if call.stt_billed_seconds is None else float(call.stt_billed_seconds)
        return ProviderUse(kind, label, audio_seconds=audio, billed_seconds=billed)
    if kind == "tts":
        return ProviderUse(kind, label, characters=int(call.tts_characters or 0))
    return ProviderUse(kind, label, input_tokens=int(call.llm_input_tokens or 0),
                       output_tokens=int(call.llm_output_tokens or 0))


def from_entry(kind: str, label: str, entry: dict[str, Any]) -> ProviderUse:
    """The figures of one livekit-agents usage record (or of a SQL sum with the same keys)."""
    if kind == "stt":
        return ProviderUse(kind, label, audio_seconds=float(entry.get("audio_duration") or 0.0))
    if kind == "tts":
        return ProviderUse(kind, label, characters=int(entry.get("characters_count") or 0))
    return ProviderUse(kind, label, input_tokens=int(entry.get("input_tokens") or 0),
                       output_tokens=int(entry.get("output_tokens") or 0))


def label_for(provider: Any, model: Any, primary: str, targets: list[str]) -> str:
    """Our label for a livekit usage record. Plugins name themselves ("Deepgram"/"nova-3", "Gemini"/
    "gemini-2.5-flash") while our labels say "deepgram/nova-3", "google/gemini-2.5-flash": the provider the call
    started with if the model or vendor matches it, else the fallback whose model (then vendor) matches."""
    provider, model = str(provider or "").lower(), str(model or "").lower()

    def matches(label: str, part: str) -> bool:
        vendor, _, label_model = label.lower().rpartition("/") if "/" in label else ("", "", label.lower())
        return (part == "model" and bool(model) and label_model == model) or (
            part == "vendor" and (vendor or label_model) == provider)

    for part in ("model", "vendor"):
        if matches(primary, part):
            return primary
        found = [label for label in targets if matches(label, part)]
        if found:
            return found[0]
    return f"{provider}/{model}" if model and model != provider else provider or NOT_RECORDED


@dataclass(frozen=True)
class MonthUsage:
    month: str
    sessions: int = 0  # every mode
    voice_sessions: int = 0
    agent_minutes: int = 0  # voice sessions, each rounded up to a whole minute
    participant_minutes: int = 0
    peak_concurrency: int = 0
    # billed seconds per provider label, e.g. "deepgram/nova-3": Deepgram's connection time, else the audio heard
    stt_seconds: dict[str, float] = field(default_factory=dict)
    stt_audio_seconds: dict[str, float] = field(default_factory=dict)  # audio heard per provider label
    tts_characters: dict[str, int] = field(default_factory=dict)
    llm_tokens: dict[str, tuple[int, int]] = field(default_factory=dict)  # (input, output)
    fallbacks: dict[str, int] = field(default_factory=dict)  # kind (stt|tts|llm) → sessions that fell back
    fallback_sessions: int = 0  # sessions with any fallback (one with STT and TTS fallbacks counts once)

    @property
    def stt_minutes(self) -> Decimal:
        """Billed STT minutes, every provider."""
        return sum((Decimal(str(s)) for s in self.stt_seconds.values()), Decimal(0)) / 60

    @property
    def stt_audio_minutes(self) -> Decimal:
        return sum((Decimal(str(s)) for s in self.stt_audio_seconds.values()), Decimal(0)) / 60

    @property
    def total_tts_characters(self) -> int:
        return sum(self.tts_characters.values())

    @property
    def total_llm_tokens(self) -> tuple[int, int]:
        return sum(t[0] for t in self.llm_tokens.values()), sum(t[1] for t in self.llm_tokens.values())
