"""Usage & cost: monthly aggregation in SQL over a real SQLite database, and the page built from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import gradio as gr
import pandas as pd
import pytest

from models import CallSession
from onboarding.db import session_scope
from onboarding.pricing import Pricing, load_pricing
from onboarding.settings import Settings
from onboarding.usage import (
    current_month,
    month_bounds,
    month_choices,
    monthly_usage,
    months_with_data,
    usage_page_data,
)
from pages import usage as usage_page

MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'usage.db'}"


@pytest.fixture
def at_par() -> Pricing:
    """The original design's assumption: dollars taken at par with euros."""
    return load_pricing().model_copy(update={"eur_per_usd": Decimal(1)})


def seed(db_url: str, *calls: tuple[datetime, float], **columns: object) -> None:
    """One ended CallSession per (start, seconds), as the recorder leaves it."""
    with session_scope(db_url) as db:
        db.add_all(
            CallSession(room_name=f"room-{i}", status="completed", started_at=start,
                        ended_at=start + timedelta(seconds=seconds), agent_seconds=seconds, **columns)
            for i, (start, seconds) in enumerate(calls)
        )


def test_design_example_100_users_for_5_minutes(db_url: str, at_par: Pricing) -> None:
    """100 users × 5 minutes, 500 TTS characters in all, $1 = €1 → STT €2.15 + TTS €0.50 + LLM free = €2.65."""
    calls = [(MARCH + timedelta(minutes=10 * i), 300.0) for i in range(100)]
    seed(db_url, *calls, stt_audio_seconds=300.0, stt_provider="deepgram/nova-3", tts_characters=5,
         tts_provider="elevenlabs/eleven_flash_v2_5", llm_provider="gemini/gemini-2.0-flash")

    data = usage_page_data(db_url, "2026-03", at_par)

    assert (data.usage.agent_minutes, data.usage.participant_minutes, data.usage.peak_concurrency) == (500, 1000, 1)
    assert data.usage.stt_minutes == 500 and data.usage.total_tts_characters == 500
    assert {c.role: c.cost for c in data.costs} == {"STT": Decimal("2.15"), "TTS": Decimal("0.50"), "LLM": 0}
    assert data.providers_total == Decimal("2.65") and data.complete
    assert [row[4] for row in data.cost_rows] == ["€2.15", "€0.50", "€0.00", "€2.65"]
    assert [row[2] for row in data.cost_rows[:2]] == ["500.00 min", "500 characters"]
    summary = dict(map(tuple, data.summary_rows))
    assert summary["Agent session minutes (each rounded up)"] == "500 min"
    assert summary["Provider cost (STT + TTS + LLM)"] == "€2.65"
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


def test_the_page_builds_and_renders_a_month(db_url: str) -> None:
    seed(db_url, (MARCH, 300.0), (MARCH + timedelta(minutes=1), 300.0), stt_audio_seconds=300.0,
         stt_provider="deepgram/nova-3")
    settings = Settings(_env_file=None, database_url=db_url)
    with gr.Blocks() as page, gr.Tab("Usage"):
        usage_page.build(settings, page)
    elem_ids = {c.get("props", {}).get("elem_id") for c in page.get_config_file()["components"]}
    assert {"usage-summary", "usage-costs", "usage-minutes-chart", "usage-concurrency-chart",
            "usage-recommendation"} <= elem_ids

    summary, costs, tiers, minutes, concurrency, advice = usage_page.render_month(settings, "2026-03")
    assert isinstance(summary, pd.DataFrame) and "10 min" in summary["Value"].tolist()
    assert costs["Cost"].tolist()[-1].startswith("€")
    assert tiers["Plan"].tolist() == ["Free", "Ship", "Scale", "Self-hosted"]
    assert minutes.value["data"][0] == ["Used", 10, "used"]
    assert concurrency.value["data"][0] == ["Peak", 2, "peak"]
    assert advice.startswith("**Recommended: Free.**")


def test_the_page_names_an_invalid_pricing_file(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "pricing.toml"
    bad.write_text("display_currency = \"EUR\"\neur_per_usd = = 1\n")
    *_, advice = usage_page.render_month(Settings(_env_file=None, database_url=db_url, pricing_path=bad), "2026-03")
    assert "Pricing file is invalid" in advice and str(bad) in advice and "line 2" in advice
