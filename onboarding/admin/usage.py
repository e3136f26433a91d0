"""The data behind the Usage & cost page: a month's usage from SQL, priced, compared with LiveKit Cloud's tiers and
formatted with currencies, so the page only lays it out; the month day by day against the plan you are on (the
forecast, the day the included minutes run out, peaks against the cap, the cost against MONTHLY_BUDGET); the cost
per user id and per embedding origin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from onboarding.admin import charts as charts_
from onboarding.db import session_scope
from onboarding.settings import Settings
from onboarding.usage.by_user import cost_ranking
from onboarding.usage.daily import daily_minutes, daily_peaks
from onboarding.usage.forecast import MinutesForecast, forecast_minutes, month_end_amount, ordinal
from onboarding.usage.metering import KIND_NAMES, MonthUsage
from onboarding.usage.monthly import month_key, monthly_usage
from onboarding.usage.pricing import (
    Pricing,
    PricingError,
    ProviderCost,
    Recommendation,
    TierCost,
    load_pricing,
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


# --- the month day by day, where it is heading, and whose calls it is ------------------------------------------
@dataclass(frozen=True)
class CurrentPlan:
    key: str
    name: str
    fee: Decimal  # display currency
    included_minutes: int | None  # None: self-hosted, no cap
    max_concurrent: int | None
    overage_per_minute: Decimal | None  # display currency; None with a cap: the minutes are a hard cap
    problem: str | None = None  # LIVEKIT_PLAN names no plan in pricing.toml


def current_plan(settings: Settings, pricing: Pricing) -> CurrentPlan:
    key = settings.livekit_plan.strip().lower()
    plans = {k.lower(): plan for k, plan in pricing.livekit.plans.items()}
    if key in plans:
        plan = plans[key]
        overage = (pricing.to_display(plan.overage_per_minute, plan.currency)
                   if plan.overage_per_minute is not None else None)
        return CurrentPlan(key, plan.name, pricing.to_display(plan.fee, plan.currency), plan.included_minutes,
                           plan.max_concurrent, overage)
    server = pricing.self_hosted
    problem = None if key in ("self_hosted", "self-hosted") else (
        f"LIVEKIT_PLAN={settings.livekit_plan!r} is not a plan in {settings.pricing_path.name} "
        f"(use one of {', '.join(sorted(plans))} or self_hosted); showing self-hosted")
    return CurrentPlan("self_hosted", "Self-hosted", pricing.to_display(server.server_per_month, server.currency),
                       None, None, None, problem)


@dataclass(frozen=True)
class BudgetStatus:
    so_far: Decimal  # plan fee + overage so far + providers so far
    forecast: Decimal  # the same at the month's end at the current rate
    budget: Decimal | None
    currency: str

    @property
    def exceeded(self) -> bool:
        return self.budget is not None and self.forecast > self.budget

    @property
    def message(self) -> str:
        forecast = money(self.forecast, self.currency)
        if self.budget is None:
            return f"Month-end cost forecast: {forecast} (no MONTHLY_BUDGET set)."
        budget = money(self.budget, self.currency)
        if self.exceeded:
            return f"⚠ Over budget: the month-end forecast {forecast} passes the monthly budget of {budget}."
        return f"Within budget: month-end forecast {forecast} of {budget} ({self.forecast / self.budget:.0%})."


def _plan_cost(plan: CurrentPlan, minutes: int) -> Decimal:
    over = max(0, minutes - (plan.included_minutes or 0)) if plan.included_minutes is not None else 0
    return plan.fee + Decimal(over) * (plan.overage_per_minute or Decimal(0))


def _budget(settings: Settings, pricing: Pricing, plan: CurrentPlan, forecast: MinutesForecast,
            providers_so_far: Decimal) -> BudgetStatus:
    providers_end = month_end_amount(providers_so_far, forecast.days_elapsed, forecast.days_in_month)
    so_far = _plan_cost(plan, forecast.minutes_so_far) + providers_so_far
    at_end = _plan_cost(plan, forecast.month_end_minutes) + providers_end
    budget = Decimal(str(settings.monthly_budget)) if settings.monthly_budget > 0 else None
    return BudgetStatus(so_far, at_end, budget, pricing.display_currency)


@dataclass(frozen=True)
class UsageTrend:
    plan: CurrentPlan
    forecast: MinutesForecast
    daily_minutes: list[int]
    daily_peaks: list[int]
    budget: BudgetStatus
    concurrency_note: str
    charts: dict[str, dict[str, Any]]


def usage_trend(settings: Settings, month: str, pricing: Pricing, data: UsagePageData,
                now: datetime | None = None) -> UsageTrend:
    """The month day by day against the plan you are on: minutes, the forecast and cap date, peaks against the
    concurrency cap, the cost forecast against the budget; with their charts."""
    now = now or datetime.now(UTC)
    with session_scope(settings.database_url) as db:
        minutes, peaks = daily_minutes(db, month), daily_peaks(db, month)
    plan = current_plan(settings, pricing)
    forecast = forecast_minutes(month, minutes, now, plan.name if plan.included_minutes is not None else None,
                                plan.included_minutes)
    budget = _budget(settings, pricing, plan, forecast, data.providers_total)
    days = list(range(1, len(minutes) + 1))
    over = [day for day, peak in zip(days, peaks, strict=True) if plan.max_concurrent and peak > plan.max_concurrent]
    if plan.max_concurrent is None:
        note = f"Peak {max(peaks, default=0):,} concurrent sessions; self-hosted has no concurrency cap."
    elif over:
        note = (f"⚠ Peak concurrency passed the {plan.name} plan's cap of {plan.max_concurrent:,} on "
                f"{', the '.join(ordinal(d) for d in over[:5])}{' …' if len(over) > 5 else ''}.")
    else:
        note = (f"Peak {max(peaks, default=0):,} of the {plan.name} plan's {plan.max_concurrent:,} concurrent "
                "sessions: never above the cap.")
    cap_label = f"{plan.name} included: {plan.included_minutes:,}" if plan.included_minutes else ""
    charts = {
        "minutes": charts_.daily_bars(days, [float(m) for m in minutes], title="Agent minutes per day",
                                      y_title="minutes"),
        "month_to_date": charts_.month_to_date(forecast.cumulative, forecast.projected, cap=plan.included_minutes,
                                               cap_label=cap_label, title="Month to date against the plan"),
        "peaks": charts_.daily_bars(days, [float(p) for p in peaks], title="Peak concurrent sessions per day",
                                    y_title="sessions", color="#7c3aed", cap=plan.max_concurrent,
                                    cap_label=f"{plan.name} cap: {plan.max_concurrent}" if plan.max_concurrent
                                    else ""),
    }
    return UsageTrend(plan, forecast, minutes, peaks, budget, note, charts)


def budget_status(settings: Settings, now: datetime) -> BudgetStatus | None:
    """This month's cost forecast against MONTHLY_BUDGET (for the /metrics gauge); None if pricing is broken."""
    try:
        pricing = load_pricing(settings.pricing_path)
    except PricingError:
        return None
    month = month_key(now)
    data = usage_page_data(settings.database_url, month, pricing)
    return usage_trend(settings, month, pricing, data, now).budget


COST_BY_HEADERS = ["Key", "Sessions", "Agent minutes", "Share of minutes", "STT minutes", "TTS characters",
                   "LLM tokens", "Provider cost"]


COST_PAGE_ROWS = 50  # the usage page lists the dearest keys; the CSV export has every row


def cost_table(db_url: str, month: str, pricing: Pricing, key: str = "user_id",
               limit: int | None = None) -> list[list[str]]:
    """Cost per user id or embedding origin, formatted, dearest first; the first `limit` rows (all by default):
    formatting thousands of rows for a page that shows fifty cost more than the query."""
    rows, minutes = cost_ranking(db_url, month, pricing, "origin" if key == "origin" else "user_id", limit)
    minutes = minutes or 1
    cur = pricing.display_currency
    return [[r.key, f"{r.sessions:,}", f"{r.agent_minutes:,}", f"{r.agent_minutes / minutes:.1%}",
             f"{r.stt_minutes:,.2f}", f"{r.tts_characters:,}", f"{r.llm_tokens:,}",
             money(r.cost, cur) + (" + unpriced" if r.unpriced else "")] for r in rows]
