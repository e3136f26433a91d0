"""Pricing: the rates file, provider costs, tier totals and the tier recommendation, as pure functions."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from onboarding.usage.metering import MonthUsage
from onboarding.usage.pricing import (
    DEFAULT_PRICING_PATH,
    Pricing,
    PricingError,
    load_pricing,
    money,
    provider_costs,
    providers_total,
    recommend,
    tier_costs,
)


@pytest.fixture(scope="module")
def pricing() -> Pricing:
    return load_pricing()


def usage(minutes: int = 0, peak: int = 0, **kw) -> MonthUsage:
    return MonthUsage(month="2026-03", agent_minutes=minutes, peak_concurrency=peak, **kw)


def design_rates(pricing: Pricing) -> Pricing:
    """The original design's cost table: the vendor-wide rates only (no per-model list prices), $1 = €1."""
    vendor_only = {kind: {k: v for k, v in getattr(pricing, kind).items() if "/" not in k} for kind in ("stt", "tts",
                                                                                                      "llm")}
    return pricing.model_copy(update={"eur_per_usd": Decimal(1), **vendor_only})


def test_defaults_are_the_original_designs(pricing: Pricing) -> None:
    assert (pricing.stt["deepgram"].per_minute, pricing.stt["deepgram"].currency) == (Decimal("0.0043"), "EUR")
    assert (pricing.tts["elevenlabs"].per_character, pricing.tts["elevenlabs"].currency) == (Decimal("0.001"), "USD")
    assert pricing.llm["gemini"].per_million_input_tokens == pricing.llm["gemini"].per_million_output_tokens == 0
    plans = [(p.name, p.fee, p.currency, p.included_minutes, p.max_concurrent, p.overage_per_minute)
             for _, p in pricing.cloud_plans]
    assert plans == [("Free", 0, "USD", 1000, 5, None), ("Ship", 50, "USD", 5000, 20, Decimal("0.01")),
                     ("Scale", 500, "USD", 50000, 600, Decimal("0.01"))]
    assert (pricing.self_hosted.server_per_month, pricing.self_hosted.currency) == (20, "USD")
    assert 0 < pricing.eur_per_usd < 2
    assert {"faster-whisper", "piper", "scripted"} <= set(pricing.local_providers)


def test_design_example_is_exact_at_par() -> None:
    at_par = design_rates(load_pricing())
    month = usage(500, 1, stt_seconds={"deepgram/nova-3": 30000.0}, tts_characters={"elevenlabs/flash": 500},
                  llm_tokens={"gemini/gemini-2.0-flash": (12000, 3000)})
    costs = {c.role: c.cost for c in provider_costs(month, at_par)}
    assert costs == {"STT": Decimal("2.15"), "TTS": Decimal("0.5"), "LLM": 0}
    assert providers_total(provider_costs(month, at_par)) == Decimal("2.65")


def test_dollars_convert_at_the_stated_rate(pricing: Pricing) -> None:
    [tts] = provider_costs(usage(tts_characters={"elevenlabs/flash": 500}), pricing)
    assert tts.cost == Decimal("0.5") * pricing.eur_per_usd
    assert tts.rate == "$0.001/char"


def test_local_providers_are_free_and_unknown_ones_are_flagged(pricing: Pricing) -> None:
    month = usage(stt_seconds={"faster-whisper/tiny.en": 600.0, "acme/stt-1": 60.0}, tts_characters={"PIPER/joe": 9})
    rows = {c.provider: c for c in provider_costs(month, pricing)}
    assert (rows["faster-whisper/tiny.en"].cost, rows["faster-whisper/tiny.en"].rate) == (0, "local (free)")
    assert rows["PIPER/joe"].cost == 0
    assert rows["acme/stt-1"].cost is None and "no rate" in rows["acme/stt-1"].rate


def test_tier_totals_add_plan_fee_overage_and_providers(pricing: Pricing) -> None:
    at_par = design_rates(pricing)
    tiers = {t.name: t for t in tier_costs(usage(6000, 3, stt_seconds={"deepgram/nova-3": 6000.0}), at_par)}
    providers = Decimal("0.43")  # 100 STT minutes at €0.0043
    assert tiers["Free"].total is None and not tiers["Free"].fits_minutes  # Free's minutes are a hard cap
    assert tiers["Ship"].overage_minutes == 1000 and tiers["Ship"].overage == "$10.00"
    assert tiers["Ship"].total == 50 + 10 + providers
    assert tiers["Scale"].total == 500 + providers and tiers["Scale"].overage_minutes == 0
    assert tiers["Self-hosted"].total == 20 + providers


@pytest.mark.parametrize(
    ("minutes", "peak", "plan", "binding", "phrase"),
    [
        (500, 3, "Free", "concurrency", "3 of 5 concurrent sessions (60%)"),
        (800, 1, "Free", "minutes", "800 of 1,000 included minutes (80%)"),
        (500, 12, "Ship", "concurrency", "a peak of 12 concurrent sessions exceeds Free's cap of 5"),
        (2000, 2, "Ship", "minutes", "Free has no overage"),
        (6000, 2, "Ship", "minutes", "Ship: 6,000 minutes exceed Free's 1,000"),
        (30000, 4, "Ship", "minutes", "Free has no overage"),  # Ship's overage stays below Scale's fee
        (60000, 10, "Scale", "minutes", "with overage Ship would cost the same as Scale's €516.00"),
        (3000, 100, "Scale", "concurrency", "exceeds Ship's cap of 20"),
        (900, 700, "Self-hosted", "concurrency", "exceeds every cloud plan's cap (Scale: 600)"),
        (0, 0, "Free", "none", "no agent sessions"),
    ],
)
def test_recommendation_names_the_cap_that_binds_first(
    pricing: Pricing, minutes: int, peak: int, plan: str, binding: str, phrase: str
) -> None:
    advice = recommend(usage(minutes, peak), pricing)
    assert (advice.plan, advice.binding) == (plan, binding)
    assert phrase in advice.reason
    if binding != "none":
        assert f"the {binding} cap binds first" in advice.reason


def test_money_shows_its_currency() -> None:
    assert money(Decimal("2.145"), "EUR") == "€2.15"
    assert money(Decimal(50000), "USD") == "$50,000.00"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pricing.toml"
    path.write_text(text)
    return path


def test_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = DEFAULT_PRICING_PATH.read_text()
    line = text.splitlines().index("eur_per_usd = 0.86") + 1
    broken = text.replace("eur_per_usd = 0.86", "eur_per_usd = 0,86")
    with pytest.raises(PricingError, match=rf"pricing\.toml: .*line {line}\b"):
        load_pricing(write(tmp_path, broken))


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("included_minutes = 5000", "included_minutes = \"lots\"", "livekit.plans.ship.included_minutes"),
        ("per_character = 0.001\ncurrency = \"USD\"", "per_character = 0.001\ncurrency = \"GBP\"",
         "tts.elevenlabs.currency"),
        ("per_minute = 0.0043", "per_minute = -1", "stt.deepgram.per_minute"),
        ("server_per_month = 20", "server_per_month_ = 20", "self_hosted.server_per_month_"),
        ("eur_per_usd = 0.86", "", "eur_per_usd"),
    ],
)
def test_a_bad_value_names_the_key(tmp_path: Path, old: str, new: str, named: str) -> None:
    text = DEFAULT_PRICING_PATH.read_text()
    assert old in text
    with pytest.raises(PricingError, match=re.escape(f"{named}: ")):
        load_pricing(write(tmp_path, text.replace(old, new, 1)))


def test_a_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match=r"cannot read pricing file .*nowhere\.toml"):
        load_pricing(tmp_path / "nowhere.toml")


def test_a_models_list_price_wins_over_its_vendors(pricing: Pricing) -> None:
    """The recorded labels get the per-model rates; another model of the same vendor gets the vendor's."""
    at_par = pricing.model_copy(update={"eur_per_usd": Decimal(1)})
    month = usage(stt_seconds={"deepgram/nova-3": 6000.0, "Deepgram/Nova-3-Medical": 60.0},
                  stt_audio_seconds={"deepgram/nova-3": 3000.0},
                  tts_characters={"elevenlabs/eleven_flash_v2_5": 1_000_000, "elevenlabs/eleven_multilingual_v2": 100},
                  llm_tokens={"google/gemini-2.5-flash": (1_000_000, 1_000_000), "google/gemini-9-ultra": (5, 5)})
    rows = {c.provider: c for c in provider_costs(month, at_par)}
    # Deepgram streaming bills the connection: 100 billed minutes at $0.0077, not the 50 minutes of audio
    assert rows["deepgram/nova-3"].cost == Decimal("0.77")
    assert rows["deepgram/nova-3"].quantity == "100.00 min billed (50.00 min audio)"
    assert rows["deepgram/nova-3"].rate == "$0.0077/min"
    assert (rows["Deepgram/Nova-3-Medical"].cost, rows["Deepgram/Nova-3-Medical"].quantity) == (
        Decimal("0.0043"), "1.00 min")  # the vendor-wide rate, in euros
    # Flash v2.5: 0.5 credits per character at $0.10 per 1,000 credits = $0.05 per 1,000 characters
    flash = rows["elevenlabs/eleven_flash_v2_5"]
    assert (flash.cost, flash.rate) == (Decimal(50), "$0.1/1k credits × 0.5 credits/char")
    assert rows["elevenlabs/eleven_multilingual_v2"].cost == Decimal("0.1")
    gemini = rows["google/gemini-2.5-flash"]
    assert (gemini.cost, gemini.rate) == (Decimal("2.80"), "$0.3 in, 2.5 out /M tokens")
    assert (rows["google/gemini-9-ultra"].cost, rows["google/gemini-9-ultra"].rate) == (0, "free")


def test_dollar_list_prices_convert_at_the_stated_rate(pricing: Pricing) -> None:
    [stt] = provider_costs(usage(stt_seconds={"deepgram/nova-3": 60.0}), pricing)
    assert stt.cost == Decimal("0.0077") * pricing.eur_per_usd and money(stt.cost, "EUR") == "€0.01"


def test_list_prices_cite_their_pages_and_say_they_are_estimates() -> None:
    text = DEFAULT_PRICING_PATH.read_text()
    for page in ("https://deepgram.com/pricing", "https://elevenlabs.io/pricing/api",
                 "https://ai.google.dev/gemini-api/docs/pricing"):
        assert page in text
    assert "ESTIMATES" in text and "2025" in text
    rates = load_pricing()
    assert {"deepgram/nova-3"} <= set(rates.stt) and {"elevenlabs/eleven_flash_v2_5"} <= set(rates.tts)
    assert {"google/gemini-2.5-flash"} <= set(rates.llm)


@pytest.mark.parametrize("rate", [
    "per_character = 0.001\ncredits_per_character = 0.5\nper_thousand_credits = 0.1",  # two ways at once
    "credits_per_character = 0.5",  # a credit price is missing
    "",  # no price at all
])
def test_a_tts_rate_has_exactly_one_price(tmp_path: Path, rate: str) -> None:
    text = DEFAULT_PRICING_PATH.read_text().replace(
        '[tts.elevenlabs]\nper_character = 0.001', f"[tts.elevenlabs]\n{rate}", 1)
    assert "[tts.elevenlabs]\n" + rate in text
    with pytest.raises(PricingError, match=r"tts\.elevenlabs: .*either per_character, or both"):
        load_pricing(write(tmp_path, text))
