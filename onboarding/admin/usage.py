"""The data behind the Usage & cost page: a month's usage from SQL, priced, compared with LiveKit Cloud's tiers and
formatted with currencies, so the page only lays it out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from onboarding.usage.metering import KIND_NAMES, MonthUsage
from onboarding.usage.monthly import monthly_usage
from onboarding.usage.pricing import (
    Pricing,
    ProviderCost,
    Recommendation,
    TierCost,
    money,
    provider_costs,
    providers_total,
    recommend,
    tier_costs,
)


@dataclass(frozen=True)
class UsagePageData:
    """Everything the page renders, already formatted with currencies; the page only lays it out."""

    usage: MonthUsage
    costs: list[ProviderCost]
    providers_total: Decimal  # display currency
    complete: bool  # False when a provider has no rate in pricing.toml
    tiers: list[TierCost]
    recommendation: Recommendation
    summary_rows: list[list[str]]
    cost_rows: list[list[str]]
    tier_rows: list[list[str]]
    fallback_rows: list[list[str]]  # kind, sessions that fell back, share of the month's sessions
    minutes_bars: list[dict[str, Any]]
    concurrency_bars: list[dict[str, Any]]


def usage_page_data(db_url: str, month: str, pricing: Pricing) -> UsagePageData:
    usage = monthly_usage(db_url, month)
    costs = provider_costs(usage, pricing)
    total = providers_total(costs)
    complete = all(c.cost is not None for c in costs)
    tiers = tier_costs(usage, pricing)
    cur = pricing.display_currency
    tokens_in, tokens_out = usage.total_llm_tokens
    summary = [
        ["Sessions (voice / REST)", f"{usage.sessions:,} ({usage.voice_sessions:,} / "
                                    f"{usage.sessions - usage.voice_sessions:,})"],
        ["Agent session minutes (each rounded up)", f"{usage.agent_minutes:,} min"],
        ["WebRTC participant minutes (caller + agent)", f"{usage.participant_minutes:,} min"],
        ["STT minutes billed (audio heard)", f"{usage.stt_minutes:,.2f} min ({usage.stt_audio_minutes:,.2f} min)"],
        ["TTS characters", f"{usage.total_tts_characters:,} characters"],
        ["LLM tokens (input / output)", f"{tokens_in:,} / {tokens_out:,} tokens"],
        ["Peak concurrent sessions", f"{usage.peak_concurrency:,}"],
        ["Sessions that fell back to a local provider", f"{usage.fallback_sessions:,}"],
        ["Provider cost estimate (STT + TTS + LLM)",
         money(total, cur) + ("" if complete else " + unpriced providers")],
        ["Exchange rate", f"1 USD = {pricing.eur_per_usd} EUR (stated in pricing.toml)"],
    ]
    cost_rows = [[c.role, c.provider, c.quantity, c.rate, "—" if c.cost is None else money(c.cost, cur)]
                 for c in costs]
    cost_rows.append(["Total", "", "", "", money(total, cur) + ("" if complete else " (incomplete)")])
    tier_rows = [[t.name, t.fee, f"{t.overage} ({t.overage_minutes:,} min over)" if t.overage_minutes else t.overage,
                  money(total, cur), "—" if t.total is None else money(t.total, cur),
                  "yes" if t.fits else "no — " + ("concurrency cap" if not t.fits_concurrency else "minutes cap")]
                 for t in tiers]
    fallback_rows = [[KIND_NAMES.get(kind, kind.upper()), f"{count:,}",
                      f"{count / usage.sessions:.1%}" if usage.sessions else "—"]
                     for kind, count in usage.fallbacks.items()]
    plans = [t.plan for t in tiers if t.plan is not None]
    minutes_bars = [{"bar": "Used", "minutes": usage.agent_minutes, "series": "used"}] + [
        {"bar": f"{p.name} included", "minutes": p.included_minutes, "series": "included"} for p in plans]
    concurrency_bars = [{"bar": "Peak", "sessions": usage.peak_concurrency, "series": "peak"}] + [
        {"bar": f"{p.name} cap", "sessions": p.max_concurrent, "series": "cap"} for p in plans]
    return UsagePageData(usage, costs, total, complete, tiers, recommend(usage, pricing), summary, cost_rows,
                         tier_rows, fallback_rows, minutes_bars, concurrency_bars)
