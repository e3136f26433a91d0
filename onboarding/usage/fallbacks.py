"""A month's sessions that fell back to a local provider, split per provider in SQL.

Such a call's totals mix the cloud provider it started with and the local one that took over, so its per-model
usage records (CallSession.usage_detail, a JSON list) are summed inside the database: decoding them row by row in
Python takes seconds when a provider outage makes every call of a month fall back. The JSON functions differ per
database (SQLite: json_each/json_extract; PostgreSQL: json_array_elements/->>), everything else is shared. The
labelling and billing rules are onboarding.usage.metering's, the ones the profile detail uses for one call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, and_, case, cast, func, literal_column
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select

from models import CallSession
from onboarding.usage.metering import KINDS, NOT_RECORDED, USAGE_KINDS, ProviderUse, from_entry, label_for

_YES, _NO = literal_column("1"), literal_column("0")  # literals: PostgreSQL matches GROUP BY expressions textually


def _stored(column: Any, *empty: str) -> ColumnElement[bool]:
    """A JSON None is stored as the text 'null' (SQLAlchemy's default), so SQL NULL alone does not mean 'none'."""
    text = cast(column, String)
    return and_(column.is_not(None), *(text != literal_column(f"'{value}'") for value in empty))


def fell_back() -> ColumnElement[bool]:
    return _stored(CallSession.provider_fallbacks, "null", "[]")


def split_by_detail() -> ColumnElement[bool]:
    """Sessions split per provider: they fell back and have per-model usage; the others keep their totals."""
    return and_(fell_back(), _stored(CallSession.usage_detail, "null", "[]"))


def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, _YES), else_=_NO)


class _Json:
    """The two JSON dialects: array elements as a table, and a field of an element as text or a number."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"

    def elements(self, column: Any) -> Any:
        if self.postgres:  # json_array_elements fails on a scalar (null): give it an empty array instead
            array = case((func.json_typeof(column) == literal_column("'array'"), column),
                         else_=literal_column("'[]'::json"))
            return func.json_array_elements(array).table_valued("value").alias("element")
        return func.json_each(column).table_valued("value").alias("element")

    def text(self, element: Any, key: str) -> ColumnElement[Any]:
        if self.postgres:
            return element.c.value.op("->>")(literal_column(f"'{key}'"))
        return func.json_extract(element.c.value, literal_column(f"'$.{key}'"))  # a JSON number stays a number

    def total(self, element: Any, key: str, kind: type[Float] | type[Integer]) -> ColumnElement[Any]:
        value = self.text(element, key)
        return func.coalesce(func.sum(cast(value, kind) if self.postgres else value), 0)


@dataclass
class FallbackMonth:
    uses: list[ProviderUse] = field(default_factory=list)  # per provider, from the split sessions' usage records
    sessions_per_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))


def fallback_month(db: Session, start: datetime, end: datetime) -> FallbackMonth:
    """Two grouped queries over the month's fallen-back sessions: fallbacks per (kind, target) and usage records
    per (starting providers, billed?, type, provider, model). A handful of rows either way."""
    json = _Json(db.get_bind().dialect.name)
    c = CallSession
    in_month = (c.started_at >= start, c.started_at < end)
    result = FallbackMonth()
    event = json.elements(c.provider_fallbacks)
    kind = func.lower(func.coalesce(json.text(event, "role"), json.text(event, "kind")))
    target = json.text(event, "to")
    targets: dict[str, list[str]] = {k: [] for k in KINDS}
    for kind_name, to, sessions in db.exec(
            select(kind, target, func.count(func.distinct(c.id))).select_from(c).join(event, literal_column("1=1"))
            .where(*in_month, fell_back()).group_by(kind, target)).all():
        if kind_name:
            result.sessions_per_kind[kind_name] = result.sessions_per_kind.get(kind_name, 0) + sessions
            if to:
                targets.setdefault(kind_name, []).append(to)

    record = json.elements(c.usage_detail)
    billed_unknown = flag(c.stt_billed_seconds.is_(None))
    fields = (json.text(record, "type"), json.text(record, "provider"), json.text(record, "model"))
    rows = db.exec(
        select(c.stt_provider, c.tts_provider, c.llm_provider, billed_unknown, *fields,
               json.total(record, "audio_duration", Float), json.total(record, "characters_count", Integer),
               json.total(record, "input_tokens", Integer), json.total(record, "output_tokens", Integer))
        .select_from(c).join(record, literal_column("1=1")).where(*in_month, split_by_detail())
        .group_by(c.stt_provider, c.tts_provider, c.llm_provider, billed_unknown, *fields)).all()
    result.uses = list(_uses(rows, targets))
    return result


def _uses(rows: Iterable[Any], targets: dict[str, list[str]]) -> Iterable[ProviderUse]:
    for stt, tts, llm, billed_unknown, usage_type, provider, model, audio, characters, tokens_in, tokens_out in rows:
        kind = USAGE_KINDS.get(usage_type or "")
        if kind is None:
            continue
        primary = {"stt": stt, "tts": tts, "llm": llm}[kind] or NOT_RECORDED
        label = label_for(provider, model, primary, targets.get(kind, []))
        use = from_entry(kind, label, {"audio_duration": audio, "characters_count": characters,
                                       "input_tokens": tokens_in, "output_tokens": tokens_out})
        use.fallback = label != primary
        # the starting cloud STT bills its connection time (added from the sessions' column); the rest, audio heard
        if kind == "stt" and (use.fallback or billed_unknown):
            use.billed_seconds = use.audio_seconds
        yield use
