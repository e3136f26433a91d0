"""Rates, LiveKit Cloud tiers and the tier recommendation: pure functions over one month's usage.

Rates live in data/pricing.toml so whoever pays can edit them without touching code. Amounts are Decimals so the
original design's example (100 users × 5 minutes → €2.65) comes out exact, not 2.6500000000000004. A provider's
rate is the one for its full label ("deepgram/nova-3") if the file has one, else its vendor's ("deepgram").
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from onboarding.settings import REPO_ROOT
from onboarding.usage.metering import MonthUsage

DEFAULT_PRICING_PATH = REPO_ROOT / "data" / "pricing.toml"
Currency = Literal["EUR", "USD"]
SYMBOLS: dict[str, str] = {"EUR": "€", "USD": "$"}
Binding = Literal["minutes", "concurrency", "none"]
RateT = TypeVar("RateT")


class PricingError(ValueError):
    """pricing.toml is unreadable or a value is wrong; the message names the file and the key or line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # a misspelt key is an error, not a silent default


class SttRate(_Strict):
    per_minute: Decimal = Field(ge=0)
    currency: Currency


class TtsRate(_Strict):
    """Either a price per character, or credits per character (ElevenLabs) at a price per 1,000 credits."""

    per_character: Decimal | None = Field(default=None, ge=0)
    credits_per_character: Decimal | None = Field(default=None, ge=0)
    per_thousand_credits: Decimal | None = Field(default=None, ge=0)
    currency: Currency

    @model_validator(mode="after")
    def _one_way_to_price(self) -> TtsRate:
        by_credits = [value is not None for value in (self.credits_per_character, self.per_thousand_credits)]
        if (any(by_credits) and not all(by_credits)) or (self.per_character is not None) == all(by_credits):
            raise ValueError("give either per_character, or both credits_per_character and per_thousand_credits")
        return self

    @property
    def character_price(self) -> Decimal:
        if self.per_character is not None:
            return self.per_character
        assert self.credits_per_character is not None and self.per_thousand_credits is not None
        return self.credits_per_character * self.per_thousand_credits / 1000

    @property
    def label(self) -> str:
        symbol = SYMBOLS[self.currency]
        if self.per_character is not None:
            return f"{symbol}{self.per_character}/char"
        return f"{symbol}{self.per_thousand_credits}/1k credits × {self.credits_per_character} credits/char"


class LlmRate(_Strict):
    per_million_input_tokens: Decimal = Field(ge=0)
    per_million_output_tokens: Decimal = Field(ge=0)
    currency: Currency


class Plan(_Strict):
    name: str
    fee: Decimal = Field(ge=0)
    currency: Currency
    included_minutes: int = Field(ge=0)
    max_concurrent: int = Field(ge=1)
    overage_per_minute: Decimal | None = Field(default=None, ge=0)  # None: the included minutes are a hard cap


class LiveKitPlans(_Strict):
    plans: dict[str, Plan] = Field(min_length=1)


class SelfHosted(_Strict):
    server_per_month: Decimal = Field(ge=0)
    currency: Currency


class Pricing(_Strict):
    display_currency: Currency = "EUR"
    eur_per_usd: Decimal = Field(gt=0)
    local_providers: list[str] = Field(default_factory=list)
    stt: dict[str, SttRate] = Field(default_factory=dict)
    tts: dict[str, TtsRate] = Field(default_factory=dict)
    llm: dict[str, LlmRate] = Field(default_factory=dict)
    livekit: LiveKitPlans
    self_hosted: SelfHosted

    def to_display(self, amount: Decimal, currency: str) -> Decimal:
        """Converts at the stated rate; the page totals everything in the display currency."""
        if currency == self.display_currency:
            return amount
        return amount * self.eur_per_usd if currency == "USD" else amount / self.eur_per_usd

    def is_local(self, vendor: str) -> bool:
        return vendor in {name.lower() for name in self.local_providers}

    def rate_for(self, rates: dict[str, RateT], provider: str) -> RateT | None:
        """The full label's rate ("deepgram/nova-3"), else the vendor's ("deepgram"); keys match case-insensitively."""
        by_key = {key.lower(): rate for key, rate in rates.items()}
        return by_key.get(provider.strip().lower()) or by_key.get(vendor_of(provider))

    @property
    def cloud_plans(self) -> list[tuple[str, Plan]]:
        return sorted(self.livekit.plans.items(), key=lambda item: self.to_display(item[1].fee, item[1].currency))


def load_pricing(path: Path = DEFAULT_PRICING_PATH) -> Pricing:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise PricingError(f"cannot read pricing file {path}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise PricingError(f"{path}: {err}") from err  # tomllib's message carries the line and column
    try:
        return Pricing.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise PricingError(f"{path}: {problems}") from err


def money(amount: Decimal, currency: str) -> str:
    """'€2.15', '$1,000.00': every figure the page shows carries its currency."""
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{SYMBOLS[currency]}{cents:,}"


def vendor_of(provider: str) -> str:
    return provider.split("/", 1)[0].strip().lower()


@dataclass(frozen=True)
class ProviderCost:
    role: str  # STT | TTS | LLM
    provider: str
    quantity: str
    rate: str
    cost: Decimal | None  # in display currency; None when pricing.toml has no rate for this provider


def provider_costs(usage: MonthUsage, pricing: Pricing) -> list[ProviderCost]:
    """One row per provider and model: STT on billed minutes, TTS on characters, LLM on input and output tokens."""
    rows: list[ProviderCost] = []
    for provider, seconds in sorted(usage.stt_seconds.items()):
        minutes = Decimal(str(seconds)) / 60
        audio = Decimal(str(usage.stt_audio_seconds.get(provider, seconds))) / 60
        quantity = f"{minutes:,.2f} min" + ("" if round(audio, 2) == round(minutes, 2) else
                                            f" billed ({audio:,.2f} min audio)")
        stt_rate = pricing.rate_for(pricing.stt, provider)
        if stt_rate:
            label = f"{SYMBOLS[stt_rate.currency]}{stt_rate.per_minute}/min"
            rows.append(ProviderCost("STT", provider, quantity, label,
                                     pricing.to_display(minutes * stt_rate.per_minute, stt_rate.currency)))
        else:
            rows.append(_unrated("STT", provider, quantity, pricing))
    for provider, characters in sorted(usage.tts_characters.items()):
        tts_rate = pricing.rate_for(pricing.tts, provider)
        quantity = f"{characters:,} characters"
        if tts_rate:
            rows.append(ProviderCost("TTS", provider, quantity, tts_rate.label,
                                     pricing.to_display(characters * tts_rate.character_price, tts_rate.currency)))
        else:
            rows.append(_unrated("TTS", provider, quantity, pricing))
    for provider, (tokens_in, tokens_out) in sorted(usage.llm_tokens.items()):
        rate = pricing.rate_for(pricing.llm, provider)
        quantity = f"{tokens_in:,} in / {tokens_out:,} out tokens"
        if rate:
            cost = (tokens_in * rate.per_million_input_tokens + tokens_out * rate.per_million_output_tokens) / 10**6
            label = "free" if rate.per_million_input_tokens == rate.per_million_output_tokens == 0 else (
                f"{SYMBOLS[rate.currency]}{rate.per_million_input_tokens} in, "
                f"{rate.per_million_output_tokens} out /M tokens")
            rows.append(ProviderCost("LLM", provider, quantity, label, pricing.to_display(cost, rate.currency)))
        else:
            rows.append(_unrated("LLM", provider, quantity, pricing))
    return rows


def _unrated(role: str, provider: str, quantity: str, pricing: Pricing) -> ProviderCost:
    if pricing.is_local(vendor_of(provider)):
        return ProviderCost(role, provider, quantity, "local (free)", Decimal(0))
    return ProviderCost(role, provider, quantity, "no rate in pricing.toml", None)


def providers_total(costs: list[ProviderCost]) -> Decimal:
    return sum((c.cost for c in costs if c.cost is not None), Decimal(0))


@dataclass(frozen=True)
class TierCost:
    name: str
    plan: Plan | None  # None for self-hosted
    fee: str  # in the plan's own currency, e.g. "$50.00"
    overage_minutes: int
    overage: str
    total: Decimal | None  # display currency: fee + overage + providers; None when the plan cannot carry the usage
    minutes_share: float  # used / included (inf when nothing is included)
    concurrency_share: float
    fits_concurrency: bool
    fits_minutes: bool  # within the included minutes, or beyond them with overage

    @property
    def fits(self) -> bool:
        return self.fits_concurrency and self.fits_minutes

    @property
    def binding(self) -> Binding:
        """The cap this usage fills first, as a share of each cap."""
        if self.minutes_share == 0 and self.concurrency_share == 0:
            return "none"
        return "minutes" if self.minutes_share >= self.concurrency_share else "concurrency"


def _share(used: int, cap: int) -> float:
    return used / cap if cap else (float("inf") if used else 0.0)


def tier_costs(usage: MonthUsage, pricing: Pricing) -> list[TierCost]:
    """Each cloud plan, cheapest first, then self-hosted (no caps, the server bill instead of a plan fee)."""
    providers = providers_total(provider_costs(usage, pricing))
    tiers = []
    for _key, plan in pricing.cloud_plans:
        over = max(0, usage.agent_minutes - plan.included_minutes)
        fits_minutes = over == 0 or plan.overage_per_minute is not None
        overage = Decimal(over) * (plan.overage_per_minute or Decimal(0))
        total = pricing.to_display(plan.fee + overage, plan.currency) + providers
        tiers.append(TierCost(
            name=plan.name, plan=plan, fee=money(plan.fee, plan.currency), overage_minutes=over,
            overage=money(overage, plan.currency) if fits_minutes else "none offered: the minutes are a hard cap",
            total=total if fits_minutes else None,
            minutes_share=_share(usage.agent_minutes, plan.included_minutes),
            concurrency_share=_share(usage.peak_concurrency, plan.max_concurrent),
            fits_concurrency=usage.peak_concurrency <= plan.max_concurrent, fits_minutes=fits_minutes,
        ))
    server = pricing.self_hosted
    tiers.append(TierCost(
        name="Self-hosted", plan=None, fee=money(server.server_per_month, server.currency),
        overage_minutes=0, overage="none",
        total=pricing.to_display(server.server_per_month, server.currency) + providers,
        minutes_share=0.0, concurrency_share=0.0, fits_concurrency=True, fits_minutes=True,
    ))
    return tiers


@dataclass(frozen=True)
class Recommendation:
    plan: str
    binding: Binding  # the cap that decided (or, on the cheapest plan, the one that will be reached first)
    reason: str


def recommend(usage: MonthUsage, pricing: Pricing) -> Recommendation:
    """The cheapest cloud plan that carries the month, and which cap (minutes or concurrency) binds first."""
    tiers = tier_costs(usage, pricing)
    cloud, self_hosted = tiers[:-1], tiers[-1]
    cur = pricing.display_currency
    fitting = [t for t in cloud if t.fits]
    if not fitting:
        largest = cloud[-1]
        plan = largest.plan
        assert plan is not None
        binding = _failed_cap(largest)
        cap = (f"a peak of {usage.peak_concurrency:,} concurrent sessions exceeds every cloud plan's cap "
               f"({plan.name}: {plan.max_concurrent:,})" if binding == "concurrency" else
               f"{usage.agent_minutes:,} agent minutes exceed every cloud plan's included minutes "
               f"({plan.name}: {plan.included_minutes:,})")
        return Recommendation(self_hosted.name, binding, f"Self-hosted: {cap} — the {binding} cap binds first. "
                              f"Server and providers: {money(self_hosted.total or Decimal(0), cur)} this month.")
    # On equal totals the bigger plan wins: same money, higher caps.
    best = min(fitting, key=lambda t: (t.total or Decimal(0), -cloud.index(t)))
    index = cloud.index(best)
    if usage.agent_minutes == 0 and usage.peak_concurrency == 0:
        return Recommendation(best.name, "none", f"{best.name}: no agent sessions this month.")
    best_plan = best.plan
    assert best_plan is not None
    if index == 0:
        sentence = (f"{best.name} fits: {usage.agent_minutes:,} of {best_plan.included_minutes:,} included minutes "
                    f"({best.minutes_share:.0%}) and a peak of {usage.peak_concurrency:,} of "
                    f"{best_plan.max_concurrent:,} concurrent sessions ({best.concurrency_share:.0%}); "
                    f"the {best.binding} cap binds first.")
        binding: Binding = best.binding
    else:
        below = cloud[index - 1]
        binding = _failed_cap(below)
        sentence = f"{best.name}: {_why_not(below, best, usage, cur)} — the {binding} cap binds first."
    extra = f" Total this month: {money(best.total or Decimal(0), cur)}"
    if self_hosted.total is not None and best.total is not None and self_hosted.total < best.total:
        extra += f"; self-hosted would cost {money(self_hosted.total, cur)} (server bill, no caps)"
    return Recommendation(best.name, binding, sentence + extra + ".")


def _failed_cap(tier: TierCost) -> Binding:
    """Why a cheaper plan lost: the cap it broke, or the larger share when both broke or overage made it dearer."""
    if tier.fits_minutes and not tier.fits_concurrency and tier.overage_minutes == 0:
        return "concurrency"
    if tier.fits_concurrency:
        return "minutes"
    return "minutes" if tier.minutes_share >= tier.concurrency_share else "concurrency"


def _why_not(below: TierCost, best: TierCost, usage: MonthUsage, cur: str) -> str:
    plan = below.plan
    assert plan is not None
    minutes = f"{usage.agent_minutes:,} minutes"
    peak = f"a peak of {usage.peak_concurrency:,} concurrent sessions"
    if not below.fits_concurrency and below.overage_minutes == 0:
        return (f"{peak} exceeds {plan.name}'s cap of {plan.max_concurrent:,}, while {minutes} fit in its "
                f"{plan.included_minutes:,} included")
    if not below.fits_concurrency:
        return (f"{minutes} exceed {plan.name}'s {plan.included_minutes:,} included and {peak} exceeds its cap of "
                f"{plan.max_concurrent:,} ({below.minutes_share:.0%} vs {below.concurrency_share:.0%} of the caps)")
    if not below.fits_minutes:
        return (f"{minutes} exceed {plan.name}'s {plan.included_minutes:,} included minutes ({plan.name} has no "
                f"overage), while {peak} fits its cap of {plan.max_concurrent:,}")
    below_total, best_total = money(below.total or Decimal(0), cur), money(best.total or Decimal(0), cur)
    compared = (f"the same as {best.name}'s {best_total}, whose caps are higher" if below_total == best_total
                else f"{below_total} against {best.name}'s {best_total}")
    return (f"{minutes} exceed {plan.name}'s {plan.included_minutes:,} included; "
            f"with overage {plan.name} would cost {compared}")
