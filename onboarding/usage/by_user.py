"""A month's usage and provider cost per `user_id` or per embedding origin: who (or which site) the bill comes from.

Summed in SQL per key and provider combination, priced here with pricing.toml's rates (looked up once per provider
label). A call that fell back mid-call is priced at the providers it started with (the month's totals split it).
Agent minutes are rounded up per session, as LiveKit bills them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlalchemy import case, func
from sqlmodel import select

from models import CallSession
from onboarding.db import session_scope
from onboarding.usage.monthly import _minutes_rounded_up, month_bounds
from onboarding.usage.pricing import Pricing, vendor_of

Key = Literal["user_id", "origin"]
NO_KEY = "(none)"


@dataclass
class CostRow:
    key: str
    sessions: int = 0
    agent_minutes: int = 0
    stt_minutes: float = 0.0
    tts_characters: int = 0
    llm_tokens: int = 0
    cost: Decimal = Decimal(0)  # providers, display currency
    unpriced: bool = False  # a provider without a rate in pricing.toml


class _Rates:
    """pricing.toml's price per unit for each provider label, in the display currency; None when unpriced."""

    def __init__(self, pricing: Pricing) -> None:
        self.pricing = pricing
        self._cache: dict[tuple[str, str], tuple[Decimal, Decimal] | None] = {}

    def _local(self, provider: str) -> bool:
        return self.pricing.is_local(vendor_of(provider)) or not provider

    def unit(self, kind: str, provider: str) -> tuple[Decimal, Decimal] | None:
        key = (kind, provider)
        if key not in self._cache:
            p = self.pricing
            rates = {"stt": p.stt, "tts": p.tts, "llm": p.llm}[kind]
            rate = p.rate_for(rates, provider)
            if rate is None:
                found = (Decimal(0), Decimal(0)) if self._local(provider) else None
            elif kind == "stt":
                found = (p.to_display(rate.per_minute, rate.currency), Decimal(0))
            elif kind == "tts":
                found = (p.to_display(rate.character_price, rate.currency), Decimal(0))
            else:
                million = Decimal(10**6)
                found = (p.to_display(rate.per_million_input_tokens / million, rate.currency),
                         p.to_display(rate.per_million_output_tokens / million, rate.currency))
            self._cache[key] = found
        return self._cache[key]


def cost_by(db_url: str, month: str, pricing: Pricing, key: Key = "user_id") -> list[CostRow]:
    """Every key with sessions in the month, dearest first (then most minutes)."""
    start, end = month_bounds(month)
    c = CallSession
    column = c.user_id if key == "user_id" else c.origin
    voice = c.mode == "voice"
    query = select(
        column, c.stt_provider, c.tts_provider, c.llm_provider, func.count(),
        func.sum(case((voice, _minutes_rounded_up(c.agent_seconds)), else_=0)),
        func.sum(func.coalesce(c.stt_billed_seconds, c.stt_audio_seconds)), func.sum(c.tts_characters),
        func.sum(c.llm_input_tokens), func.sum(c.llm_output_tokens),
    ).where(c.started_at >= start, c.started_at < end).group_by(column, c.stt_provider, c.tts_provider,
                                                                c.llm_provider)
    with session_scope(db_url) as db:
        groups = db.exec(query).all()
    rates = _Rates(pricing)
    rows: dict[str, CostRow] = {}
    for name, stt, tts, llm, sessions, minutes, stt_seconds, characters, tokens_in, tokens_out in groups:
        label = name or NO_KEY
        row = rows.get(label) or rows.setdefault(label, CostRow(label))
        stt_minutes = float(stt_seconds or 0) / 60
        row.sessions += sessions
        row.agent_minutes += int(minutes or 0)
        row.stt_minutes += stt_minutes
        row.tts_characters += int(characters or 0)
        row.llm_tokens += int(tokens_in or 0) + int(tokens_out or 0)
        for kind, provider, amounts in (("stt", stt, (Decimal(str(round(stt_minutes, 6))), Decimal(0))),
                                        ("tts", tts, (Decimal(int(characters or 0)), Decimal(0))),
                                        ("llm", llm, (Decimal(int(tokens_in or 0)), Decimal(int(tokens_out or 0))))):
            unit = rates.unit(kind, provider or "")
            if unit is None:
                row.unpriced = True
                continue
            row.cost += amounts[0] * unit[0] + amounts[1] * unit[1]
    return sorted(rows.values(), key=lambda r: (-r.cost, -r.agent_minutes, r.key))
