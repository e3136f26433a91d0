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
        self._floats: dict[tuple[str, str], tuple[float, float] | None] = {}

    def _local(self, provider: str) -> bool:
        return self.pricing.is_local(vendor_of(provider)) or not provider

    def float_unit(self, kind: str, provider: str) -> tuple[float, float] | None:
        key = (kind, provider)
        if key not in self._floats:
            unit = self.unit(kind, provider)
            self._floats[key] = (float(unit[0]), float(unit[1])) if unit is not None else None
        return self._floats[key]

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
    return cost_ranking(db_url, month, pricing, key)[0]


def cost_ranking(db_url: str, month: str, pricing: Pricing, key: Key = "user_id",
                 limit: int | None = None) -> tuple[list[CostRow], int]:
    """The `limit` dearest keys of the month (all by default), and the month's agent minutes over every key."""
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
    with session_scope(db_url) as db:  # Core rows, not ORM ones: thousands of plain tuples
        groups = db.connection().execute(query).all()
    rates = _Rates(pricing)
    # floats while summing thousands of groups (Decimal arithmetic here was most of the page's time), Decimal once
    # per key at the end: [sessions, minutes, stt seconds, characters, tokens, cost, unpriced]
    sums: dict[str, list] = {}
    for name, stt, tts, llm, sessions, minutes, stt_seconds, characters, tokens_in, tokens_out in groups:
        label = name or NO_KEY
        acc = sums.get(label) or sums.setdefault(label, [0, 0, 0.0, 0, 0, 0.0, False])
        seconds, characters, tokens_in, tokens_out = (float(stt_seconds or 0), int(characters or 0),
                                                      int(tokens_in or 0), int(tokens_out or 0))
        acc[0] += sessions
        acc[1] += int(minutes or 0)
        acc[2] += seconds
        acc[3] += characters
        acc[4] += tokens_in + tokens_out
        for kind, provider, first, second in (("stt", stt, seconds / 60, 0), ("tts", tts, characters, 0),
                                              ("llm", llm, tokens_in, tokens_out)):
            unit = rates.float_unit(kind, provider or "")
            if unit is None:
                acc[6] = True
            else:
                acc[5] += first * unit[0] + second * unit[1]
    ranked = sorted(sums.items(), key=lambda item: (-item[1][5], -item[1][1], item[0]))
    rows = [CostRow(label, a[0], a[1], a[2] / 60, a[3], a[4], Decimal(repr(round(a[5], 9))), a[6])
            for label, a in ranked[:limit]]
    return rows, sum(a[1] for a in sums.values())
