"""Cost you can steer by: the month day by day in SQL, the forecast and the day the plan's minutes run out, peaks
against the concurrency cap, the cost forecast against MONTHLY_BUDGET (on the page and in /metrics), and the cost per
user id and per embedding origin."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from harness.seed_calls import metered_sessions
from onboarding.admin.charts import LOG_WHEN_CAP_EXCEEDS
from onboarding.admin.usage import current_plan, usage_page_data, usage_trend
from onboarding.console_loop import refresh_budget_gauge
from onboarding.db import session_scope
from onboarding.settings import Settings
from onboarding.usage.by_user import cost_by
from onboarding.usage.daily import daily_minutes, daily_peaks
from onboarding.usage.forecast import forecast_minutes, ordinal
from onboarding.usage.pricing import load_pricing

MARCH = "2026-03"
M1 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'forecast.db'}"


def hour_a_day(days: int, **columns: object) -> list[tuple[datetime, float]]:
    return [(M1 + timedelta(days=d, hours=10), 3600.0) for d in range(days)]


def test_ordinals() -> None:
    assert [ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 30, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "30th", "31st"]


def test_at_this_rate_the_free_plans_minutes_run_out_on_a_day() -> None:
    daily = [60] * 10 + [0] * 21
    now = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)  # the 10th counts whole: ten days at 60 a day
    forecast = forecast_minutes(MARCH, daily, now, "Free", 1000)
    assert (forecast.days_elapsed, forecast.minutes_so_far, forecast.rate_per_day) == (10, 600, 60)
    assert forecast.month_end_minutes == 60 * 31 and forecast.runs_out_on == date(2026, 3, 17)  # 1000/60 = 16.7
    assert forecast.sentence == ("At this rate the Free plan's 1,000 minutes run out on the 17th (600 used so far, "
                                 "1,860 forecast by the month's end).")
    assert forecast.cumulative == [60 * d for d in range(1, 11)] and forecast.projected[0] == 600
    assert forecast.projected[-1] == pytest.approx(1860)


def test_a_month_that_ran_out_says_when_and_a_quiet_one_lasts() -> None:
    daily = [60] * 31
    done = forecast_minutes(MARCH, daily, datetime(2026, 4, 2, tzinfo=UTC), "Free", 1000)
    assert done.complete and done.ran_out_on == date(2026, 3, 17) and done.runs_out_on is None
    assert done.sentence == "The Free plan's 1,000 minutes ran out on the 17th (1,860 used)."
    quiet = forecast_minutes(MARCH, [2] + [0] * 30, datetime(2026, 3, 5, tzinfo=UTC), "Scale", 50_000)
    assert quiet.runs_out_on is None and quiet.month_end_minutes == 12
    assert quiet.sentence.startswith("At this rate the Scale plan's 50,000 minutes last the month: 12 forecast")
    uncapped = forecast_minutes(MARCH, [5] * 31, datetime(2026, 3, 2, tzinfo=UTC), None, None)
    assert uncapped.sentence == "10 agent minutes so far; at this rate 155 by the month's end."
    future = forecast_minutes(MARCH, [0] * 31, datetime(2026, 2, 20, tzinfo=UTC), "Free", 1000)
    assert future.days_elapsed == 0 and future.sentence == "This month has not started yet."


def test_days_and_peaks_are_counted_in_sql(database_url: str) -> None:
    metered_sessions(database_url, [
        (M1 + timedelta(hours=9), 61.0),  # 2 minutes (rounded up) on the 1st
        (M1 + timedelta(hours=9, seconds=30), 120.0),  # overlaps it: a peak of 2 on the 1st
        (M1 + timedelta(days=1, hours=23, minutes=50), 1200.0),  # the 2nd, open across midnight
        (M1 + timedelta(days=2, minutes=5), 60.0),  # the 3rd, while the one above is still open: 2 at once
        (datetime(2026, 4, 1, tzinfo=UTC), 600.0),  # April
    ])
    with session_scope(database_url) as db:
        minutes, peaks = daily_minutes(db, MARCH), daily_peaks(db, MARCH)
    assert len(minutes) == len(peaks) == 31
    assert minutes[:4] == [4, 20, 1, 0] and sum(minutes) == 25
    assert peaks[:4] == [2, 1, 2, 0] and max(peaks[4:]) == 0


def test_the_page_forecasts_against_the_plan_and_budget(db_url: str) -> None:
    metered_sessions(db_url, hour_a_day(10))
    settings = Settings(_env_file=None, database_url=db_url, livekit_plan="ship", monthly_budget=40)
    pricing = load_pricing()
    data = usage_page_data(db_url, MARCH, pricing)
    trend = usage_trend(settings, MARCH, pricing, data, now=datetime(2026, 3, 10, 12, tzinfo=UTC))
    assert trend.plan.name == "Ship" and trend.forecast.runs_out_on is None  # 5,000 at 60 a day: day 84
    assert "last the month: 1,860 forecast" in trend.forecast.sentence
    # Ship's fee ($50 at 0.86 → €43) already passes a €40 budget: the page and /metrics warn
    assert trend.budget.exceeded and "passes the monthly budget of €40.00" in trend.budget.message
    assert "never above the cap" in trend.concurrency_note
    bars = json.loads(json.dumps(trend.charts["minutes"]))["data"]["values"]
    assert [b["value"] for b in bars[:11]] == [60.0] * 10 + [0.0]  # every day on its own bar and scale


def test_the_forecast_date_when_the_minutes_run_out_this_month(db_url: str) -> None:
    metered_sessions(db_url, hour_a_day(10))
    settings = Settings(_env_file=None, database_url=db_url, livekit_plan="free")
    pricing = load_pricing()
    trend = usage_trend(settings, MARCH, pricing, usage_page_data(db_url, MARCH, pricing),
                        now=datetime(2026, 3, 10, 12, tzinfo=UTC))
    assert trend.forecast.sentence.startswith("At this rate the Free plan's 1,000 minutes run out on the 17th")
    assert not trend.budget.exceeded and trend.budget.budget is None


def test_a_cap_far_above_the_month_uses_a_log_axis(db_url: str) -> None:
    """Two used minutes against Scale's 50,000 must not vanish into a flat line."""
    metered_sessions(db_url, [(M1 + timedelta(hours=1), 90.0)])
    settings = Settings(_env_file=None, database_url=db_url, livekit_plan="scale")
    pricing = load_pricing()
    trend = usage_trend(settings, MARCH, pricing, usage_page_data(db_url, MARCH, pricing),
                        now=datetime(2026, 3, 1, 12, tzinfo=UTC))
    line = trend.charts["month_to_date"]["layer"][0]
    assert trend.plan.included_minutes > LOG_WHEN_CAP_EXCEEDS * 62
    assert line["encoding"]["y"]["scale"] == {"type": "symlog"}
    assert line["data"]["values"][0] == {"day": 1, "minutes": 2, "series": "used so far"}


def test_an_unknown_plan_is_named() -> None:
    plan = current_plan(Settings(_env_file=None, livekit_plan="gold"), load_pricing())
    assert plan.name == "Self-hosted" and "LIVEKIT_PLAN='gold'" in plan.problem


def test_cost_per_user_and_per_embedding_origin(db_url: str) -> None:
    cloud = dict(stt_provider="deepgram/nova-3", tts_provider="elevenlabs/eleven_flash_v2_5",
                 llm_provider="google/gemini-2.5-flash", stt_billed_seconds=600.0, tts_characters=10_000,
                 llm_input_tokens=1_000_000, llm_output_tokens=0)
    metered_sessions(db_url, [(M1 + timedelta(hours=1), 600.0)], user_id="big", origin="https://a.example", **cloud)
    metered_sessions(db_url, [(M1 + timedelta(hours=2), 60.0), (M1 + timedelta(hours=3), 60.0)], user_id="small",
                     origin="https://a.example", stt_provider="faster-whisper/tiny.en", tts_provider="piper/joe",
                     llm_provider="scripted")
    metered_sessions(db_url, [(M1 + timedelta(hours=4), 60.0)], origin="https://b.example", stt_provider="mystery")
    pricing = load_pricing()
    users = {r.key: r for r in cost_by(db_url, MARCH, pricing, "user_id")}
    big = users["big"]
    # 10 min × $0.0077 + 10,000 chars × 0.5 credits × $0.10/1k + 1M input tokens × $0.30, at 0.86 EUR per USD
    expected = (10 * 0.0077 + 10_000 * 0.5 * 0.10 / 1000 + 0.30) * 0.86
    assert float(big.cost) == pytest.approx(expected, rel=1e-9) and big.agent_minutes == 10
    assert (users["small"].sessions, users["small"].agent_minutes, float(users["small"].cost)) == (2, 2, 0.0)
    assert users["(none)"].unpriced  # an STT with no rate: the total says it is incomplete
    origins = {r.key: r for r in cost_by(db_url, MARCH, pricing, "origin")}
    assert (origins["https://a.example"].sessions, origins["https://b.example"].sessions) == (3, 1)
    assert list(users) == ["big", "small", "(none)"]  # dearest first, then most minutes


def test_metrics_show_the_forecast_and_the_budget(tmp_path: Path) -> None:
    import dashboard

    db_url = f"sqlite:///{tmp_path / 'metrics.db'}"
    now = datetime.now(UTC)
    metered_sessions(db_url, [(now.replace(day=1, hour=0, minute=1), 60.0)])
    settings = Settings(_env_file=None, database_url=db_url, dev_mode=True, livekit_plan="ship", monthly_budget=10,
                        metrics_token="scrape-token")
    refresh_budget_gauge(settings)
    client = TestClient(dashboard.create_app(settings), headers={"Authorization": "Bearer scrape-token"})
    text = client.get("/metrics").text
    assert "onboarding_budget_forecast_exceeded 1.0" in text and "onboarding_month_budget 10.0" in text
    forecast = next(line for line in text.splitlines() if line.startswith("onboarding_month_cost_forecast "))
    assert float(forecast.split()[1]) >= 43.0  # Ship's fee alone
    refresh_budget_gauge(settings.model_copy(update={"monthly_budget": 10_000}))
    assert "onboarding_budget_forecast_exceeded 0.0" in client.get("/metrics").text
