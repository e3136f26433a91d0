"""Usage & cost: monthly aggregation in SQL over a real SQLite database, and the page built from it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import gradio as gr
import pandas as pd
import pytest
from livekit.agents.metrics.usage import LLMModelUsage, STTModelUsage, TTSModelUsage
from sqlmodel import select

from models import CallSession
from onboarding.admin.usage import usage_page_data
from onboarding.db import session_scope
from onboarding.settings import Settings
from onboarding.usage.metering import ProviderUse, split_usage
from onboarding.usage.monthly import (
    current_month,
    month_bounds,
    month_choices,
    monthly_usage,
    months_with_data,
)
from onboarding.usage.pricing import Pricing, load_pricing
from pages import usage as usage_page

MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'usage.db'}"


@pytest.fixture
def at_par() -> Pricing:
    """The original design's assumption: dollars taken at par with euros."""
    return load_pricing().model_copy(update={"eur_per_usd": Decimal(1)})


@pytest.fixture
def design_rates(at_par: Pricing) -> Pricing:
    """The original design's cost table: vendor-wide rates only, without the per-model list prices."""
    return at_par.model_copy(update={kind: {k: v for k, v in getattr(at_par, kind).items() if "/" not in k}
                                     for kind in ("stt", "tts", "llm")})


def seed(db_url: str, *calls: tuple[datetime, float], **columns: object) -> None:
    """One ended CallSession per (start, seconds), as the recorder leaves it."""
    with session_scope(db_url) as db:
        db.add_all(
            CallSession(room_name=f"room-{i}", status="completed", started_at=start,
                        ended_at=start + timedelta(seconds=seconds), agent_seconds=seconds, **columns)
            for i, (start, seconds) in enumerate(calls)
        )


def test_design_example_100_users_for_5_minutes(db_url: str, design_rates: Pricing) -> None:
    """100 users × 5 minutes, 500 TTS characters in all, $1 = €1 → STT €2.15 + TTS €0.50 + LLM free = €2.65."""
    calls = [(MARCH + timedelta(minutes=10 * i), 300.0) for i in range(100)]
    seed(db_url, *calls, stt_audio_seconds=300.0, stt_provider="deepgram/nova-3", tts_characters=5,
         tts_provider="elevenlabs/eleven_flash_v2_5", llm_provider="gemini/gemini-2.0-flash")

    data = usage_page_data(db_url, "2026-03", design_rates)

    assert (data.usage.agent_minutes, data.usage.participant_minutes, data.usage.peak_concurrency) == (500, 1000, 1)
    assert data.usage.stt_minutes == 500 and data.usage.total_tts_characters == 500
    assert {c.role: c.cost for c in data.costs} == {"STT": Decimal("2.15"), "TTS": Decimal("0.50"), "LLM": 0}
    assert data.providers_total == Decimal("2.65") and data.complete
    assert [row[4] for row in data.cost_rows] == ["€2.15", "€0.50", "€0.00", "€2.65"]
    assert [row[2] for row in data.cost_rows[:2]] == ["500.00 min", "500 characters"]
    summary = dict(map(tuple, data.summary_rows))
    assert summary["Agent session minutes (each rounded up)"] == "500 min"
    assert summary["Provider cost estimate (STT + TTS + LLM)"] == "€2.65"
    assert {row[0]: row[4] for row in data.tier_rows} == {
        "Free": "€2.65", "Ship": "€52.65", "Scale": "€502.65", "Self-hosted": "€22.65"}
    assert data.recommendation.plan == "Free"


def test_each_session_is_rounded_up_to_a_whole_minute(db_url: str) -> None:
    seed(db_url, (MARCH, 61.0), (MARCH + timedelta(hours=1), 60.0), (MARCH + timedelta(hours=2), 0.4))
    seed(db_url, (MARCH + timedelta(hours=3), 61.0), mode="rest", stt_audio_seconds=30.0, stt_provider="whisper/x")
    usage = monthly_usage(db_url, "2026-03")
    assert usage.agent_minutes == 2 + 1 + 1  # the REST session opened no room, so LiveKit bills nothing for it
    assert usage.participant_minutes == 2 * 4
    assert (usage.sessions, usage.voice_sessions) == (4, 3)
    assert usage.stt_seconds == {"whisper/x": 30.0}  # but its speech providers still count


def test_peak_concurrency_comes_from_overlapping_intervals(db_url: str) -> None:
    at = lambda minute: MARCH + timedelta(minutes=minute)  # noqa: E731
    seed(db_url, (at(0), 600), (at(5), 600), (at(8), 240), (at(15), 300),  # 3 open during minutes 8–10
         (at(100), 300), (at(105), 300))  # back to back: never two at once
    seed(db_url, (at(1), 600), (at(2), 600), mode="rest")  # no room, no LiveKit session
    assert monthly_usage(db_url, "2026-03").peak_concurrency == 3


def test_a_session_belongs_to_the_month_it_started_in(db_url: str) -> None:
    last_second = datetime(2026, 1, 31, 23, 59, 30, tzinfo=UTC)
    seed(db_url, (last_second, 61.0), (datetime(2026, 2, 1, tzinfo=UTC), 30.0),
         (datetime(2026, 1, 31, 23, 50, tzinfo=UTC), 1200.0),  # runs into February
         (datetime(2026, 2, 1, 0, 5, tzinfo=UTC), 60.0), (datetime(2025, 10, 3, tzinfo=UTC), 60.0))
    january, february = monthly_usage(db_url, "2026-01"), monthly_usage(db_url, "2026-02")
    assert (january.sessions, january.agent_minutes) == (2, 2 + 20)
    assert (february.sessions, february.agent_minutes) == (2, 1 + 1)
    assert (january.peak_concurrency, february.peak_concurrency) == (2, 3)  # the long call is open on both sides
    assert months_with_data(db_url) == ["2026-02", "2026-01", "2025-10"]  # empty months skipped
    assert month_bounds("2026-12") == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="2026-13"):
        month_bounds("2026-13")


def test_an_empty_database(db_url: str) -> None:
    assert months_with_data(db_url) == []
    assert month_choices(db_url) == [current_month()]
    data = usage_page_data(db_url, current_month(), load_pricing())
    assert (data.usage.sessions, data.usage.agent_minutes, data.usage.peak_concurrency) == (0, 0, 0)
    assert data.costs == [] and data.providers_total == 0
    assert data.cost_rows == [["Total", "", "", "", "€0.00"]]
    assert data.recommendation.plan == "Free" and "no agent sessions" in data.recommendation.reason


def bar_values(chart) -> list[float]:
    """The per-day values a chart on the page draws."""
    return [day["value"] for day in json.loads(chart.plot)["data"]["values"]]


def test_the_page_builds_and_renders_a_month(db_url: str) -> None:
    seed(db_url, (MARCH, 300.0), (MARCH + timedelta(minutes=1), 300.0), stt_audio_seconds=300.0,
         stt_provider="deepgram/nova-3")
    settings = Settings(_env_file=None, database_url=db_url)
    with gr.Blocks() as page, gr.Tab("Usage"):
        usage_page.build(settings, page)
    elem_ids = {c.get("props", {}).get("elem_id") for c in page.get_config_file()["components"]}
    assert {"usage-summary", "usage-costs", "usage-minutes-chart", "usage-concurrency-chart",
            "usage-recommendation", "usage-fallbacks"} <= elem_ids

    view = usage_page.render_month(settings, "2026-03")
    summary, costs, tiers, fallbacks, advice = view.summary, view.costs, view.tiers, view.fallbacks, view.recommendation
    assert isinstance(summary, pd.DataFrame) and "10 min" in summary["Value"].tolist()
    assert fallbacks.values.tolist() == [["STT", "0", "0.0%"], ["LLM", "0", "0.0%"], ["TTS", "0", "0.0%"]]
    assert costs["Cost"].tolist()[-1].startswith("€")
    assert tiers["Plan"].tolist() == ["Free", "Ship", "Scale", "Self-hosted"]
    # the charts carry the month's figures: 10 minutes used (both on March 10th), a peak of 2 sessions
    minutes = bar_values(view.minutes_chart)
    assert sum(minutes) == 10 and minutes[9] == 10
    assert max(bar_values(view.concurrency_chart)) == 2
    assert advice.startswith("**Recommended: Free.**")


def test_the_page_names_an_invalid_pricing_file(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "pricing.toml"
    bad.write_text("display_currency = \"EUR\"\neur_per_usd = = 1\n")
    advice = usage_page.render_month(Settings(_env_file=None, database_url=db_url, pricing_path=bad),
                                     "2026-03").recommendation
    assert "Pricing file is invalid" in advice and str(bad) in advice and "line 2" in advice


CLOUD = dict(stt_provider="deepgram/nova-3", tts_provider="elevenlabs/eleven_flash_v2_5",
             llm_provider="google/gemini-2.5-flash")
LOCAL = dict(stt_provider="faster-whisper/tiny.en", tts_provider="piper/joe", llm_provider="scripted")


def fallback(kind: str, old: str, new: str, reason: str) -> dict[str, object]:
    """As onboarding.providers.fallback.ProviderMonitor stores it."""
    return {"role": kind, "from": old, "to": new, "reason": reason, "at": MARCH.isoformat(), "monotonic": 12.5}


def detail(*usages: STTModelUsage | TTSModelUsage | LLMModelUsage) -> list[dict[str, object]]:
    """As onboarding.call.usage_totals stores livekit-agents' per-model usage."""
    return [u.model_dump() for u in usages]


def seed_month_with_fallbacks(db_url: str) -> None:
    """Five March sessions: two all-cloud, one all-local, one whose Deepgram fell back to Whisper, one whose
    ElevenLabs and Gemini fell back to Piper and the scripted interviewer; one April session."""
    at = lambda minute: MARCH + timedelta(minutes=minute)  # noqa: E731
    cloud_call = dict(CLOUD, stt_audio_seconds=200.0, stt_billed_seconds=240.0, tts_characters=1000,
                      llm_input_tokens=4000, llm_output_tokens=500)
    seed(db_url, (at(0), 300.0), **cloud_call)
    seed(db_url, (at(10), 300.0), **cloud_call, provider_fallbacks=[])  # an empty list is no fallback either
    seed(db_url, (at(20), 200.0), **LOCAL, stt_audio_seconds=120.0, tts_characters=800)
    seed(db_url, (at(30), 200.0), **CLOUD, stt_audio_seconds=120.0, stt_billed_seconds=60.0, tts_characters=500,
         llm_input_tokens=1000, llm_output_tokens=100,
         provider_fallbacks=[fallback("stt", "deepgram/nova-3", "faster-whisper/tiny.en", "APIStatusError 500: boom")],
         usage_detail=detail(STTModelUsage(provider="Deepgram", model="nova-3", audio_duration=40.0),
                             STTModelUsage(provider="faster-whisper", model="tiny.en", audio_duration=80.0),
                             TTSModelUsage(provider="ElevenLabs", model="eleven_flash_v2_5", characters_count=500),
                             LLMModelUsage(provider="Gemini", model="gemini-2.5-flash", input_tokens=1000,
                                           output_tokens=100)))
    seed(db_url, (at(40), 200.0), **CLOUD, stt_audio_seconds=50.0, stt_billed_seconds=60.0, tts_characters=1000,
         llm_input_tokens=2000, llm_output_tokens=200,
         provider_fallbacks=[fallback("tts", "elevenlabs/eleven_flash_v2_5", "piper/joe", "APIStatusError 429: slow"),
                             fallback("llm", "google/gemini-2.5-flash", "scripted", "APIStatusError 429: quota")],
         usage_detail=detail(STTModelUsage(provider="Deepgram", model="nova-3", audio_duration=50.0),
                             TTSModelUsage(provider="ElevenLabs", model="eleven_flash_v2_5", characters_count=300),
                             TTSModelUsage(provider="piper", model="joe", characters_count=700),
                             LLMModelUsage(provider="Gemini", model="gemini-2.5-flash", input_tokens=2000,
                                           output_tokens=200),
                             LLMModelUsage(provider="scripted", model="scripted")))
    seed(db_url, (datetime(2026, 4, 2, tzinfo=UTC), 60.0), **CLOUD, stt_audio_seconds=9.0, stt_billed_seconds=9.0,
         provider_fallbacks=[fallback("stt", "deepgram/nova-3", "faster-whisper/tiny.en", "April")])


def test_each_provider_and_model_is_metered_with_fallbacks_split(database_url: str) -> None:
    """On SQLite and PostgreSQL: the per-model usage records are summed inside the database (JSON functions)."""
    db_url = database_url
    seed_month_with_fallbacks(db_url)
    usage = monthly_usage(db_url, "2026-03")
    # Deepgram bills its connection time (240 + 240 + 60 + 60 s) though it heard less; Whisper bills what it heard
    assert usage.stt_seconds == {"deepgram/nova-3": 600.0, "faster-whisper/tiny.en": 200.0}
    assert usage.stt_audio_seconds == {"deepgram/nova-3": 490.0, "faster-whisper/tiny.en": 200.0}
    assert usage.tts_characters == {"elevenlabs/eleven_flash_v2_5": 2800, "piper/joe": 1500}
    assert usage.llm_tokens == {"google/gemini-2.5-flash": (11000, 1300), "scripted": (0, 0)}
    assert usage.fallbacks == {"stt": 1, "llm": 1, "tts": 1} and usage.fallback_sessions == 2
    assert (usage.sessions, usage.agent_minutes) == (5, 5 + 5 + 4 + 4 + 4)
    april = monthly_usage(db_url, "2026-04")
    assert april.fallbacks == {"stt": 1, "llm": 0, "tts": 0}
    # no per-model usage was recorded (the call crashed): its figures stay with the provider it started with
    assert april.stt_seconds == {"deepgram/nova-3": 9.0}

    # the month is the sum of what each call's detail shows (onboarding.usage.metering), call by call
    with session_scope(db_url) as db:
        calls = db.exec(select(CallSession).where(CallSession.started_at < datetime(2026, 4, 1, tzinfo=UTC))).all()
        per_call = [use for call in calls for use in split_usage(call)]
    totals: dict[tuple[str, str], ProviderUse] = {}
    for use in per_call:
        totals.setdefault((use.kind, use.provider), ProviderUse(use.kind, use.provider)).add(use)
    assert {p: u.billed_seconds for (k, p), u in totals.items() if k == "stt"} == usage.stt_seconds
    assert {p: u.audio_seconds for (k, p), u in totals.items() if k == "stt"} == usage.stt_audio_seconds
    assert {p: u.characters for (k, p), u in totals.items() if k == "tts"} == usage.tts_characters
    assert {p: (u.input_tokens, u.output_tokens) for (k, p), u in totals.items() if k == "llm"} == usage.llm_tokens


def test_costs_are_estimated_per_provider_from_the_list_prices(database_url: str, at_par: Pricing) -> None:
    db_url = database_url
    seed_month_with_fallbacks(db_url)
    data = usage_page_data(db_url, "2026-03", at_par)
    costs = {c.provider: c.cost for c in data.costs}
    assert costs == {
        "deepgram/nova-3": Decimal("0.077"),  # 10 billed minutes × $0.0077
        "faster-whisper/tiny.en": 0,
        "elevenlabs/eleven_flash_v2_5": Decimal("0.14"),  # 2,800 characters × 0.5 credits × $0.10 / 1,000 credits
        "piper/joe": 0,
        "google/gemini-2.5-flash": Decimal("0.00655"),  # 11,000 × $0.30/M + 1,300 × $2.50/M
        "scripted": 0,
    }
    assert data.providers_total == Decimal("0.22355") and data.complete
    assert data.cost_rows == [
        ["STT", "deepgram/nova-3", "10.00 min billed (8.17 min audio)", "$0.0077/min", "€0.08"],
        ["STT", "faster-whisper/tiny.en", "3.33 min", "local (free)", "€0.00"],
        ["TTS", "elevenlabs/eleven_flash_v2_5", "2,800 characters", "$0.1/1k credits × 0.5 credits/char", "€0.14"],
        ["TTS", "piper/joe", "1,500 characters", "local (free)", "€0.00"],
        ["LLM", "google/gemini-2.5-flash", "11,000 in / 1,300 out tokens", "$0.3 in, 2.5 out /M tokens", "€0.01"],
        ["LLM", "scripted", "0 in / 0 out tokens", "local (free)", "€0.00"],
        ["Total", "", "", "", "€0.22"],
    ]
    assert data.fallback_rows == [["STT", "1", "20.0%"], ["LLM", "1", "20.0%"], ["TTS", "1", "20.0%"]]
    summary = dict(map(tuple, data.summary_rows))
    assert summary["Sessions that fell back to a local provider"] == "2"
    assert summary["STT minutes billed (audio heard)"] == "13.33 min (11.50 min)"
    assert {row[0]: row[4] for row in data.tier_rows}["Ship"] == "€50.22"  # $50 plan + the providers' estimate
