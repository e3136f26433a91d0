"""`make bench` (dashboard part): each admin page's data at 100,000 profiles and 1,000,000 turns, goal ≤ 300 ms at the
95th percentile.

Seeds a SQLite database under .cache/bench/ once (bulk Core inserts in chunks; reused on later runs,
`--reseed` to rebuild): the calls with their turns (tagged with the field each agent turn asks, as the worker does),
field values, the post-call digest's rows (funnel rows, review items, webhook events and deliveries), then times the
data functions the pages call, server side, median and p95 of several runs, and writes the table with the machine to
docs/dashboard-benchmark.md (a smaller `--profiles` run writes beside it and never overwrites the full figures).

    python -m bench.dashboard_bench [--reseed] [--runs 20] [--profiles 100000]
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert
from sqlmodel import select

from bench.common import machine, percentile
from models import (
    CallFieldStat,
    CallSession,
    FieldValue,
    Profile,
    ReviewItem,
    Turn,
    WebhookDelivery,
    WebhookEvent,
)
from onboarding.admin.profiles import ProfileFilter, list_profiles
from onboarding.admin.review import load_profile_detail
from onboarding.db import dispose_engine, get_engine, session_scope
from onboarding.interview import load_definition
from onboarding.settings import REPO_ROOT
from onboarding.turn_tags import definition_hash

log = logging.getLogger("bench.dashboard")
DB_PATH = REPO_ROOT / ".cache" / "bench" / "dashboard.db"
OUT = REPO_ROOT / "docs" / "dashboard-benchmark.md"
PROFILES, TURNS_PER_CALL, CHUNK = 100_000, 10, 5_000
FIELDS = ["full_name", "email", "company", "role", "team_size"]  # what the seeded calls ask, in order
VERSIONS = [definition_hash(load_definition()), "0ld1nterv1ew"]  # the current interview and an older one
ORIGINS = ["https://app.example.com", "https://shop.example.org", None]
PENDING_DIGEST = 200  # the newest calls are left for the digest to time
GOAL_MS = 300.0
FIRST = ["Maria", "Li", "Sam", "Aisha", "Tom", "Priya", "Jonas", "Elena", "Kofi", "Yuki", "Omar", "Sofia"]
LAST = ["Garcia", "Wei", "Jones", "Khan", "Müller", "Patel", "Berg", "Rossi", "Mensah", "Sato", "Haddad", "Silva"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent"]
QUESTIONS = ["What's your full name?", "What's the best email address to reach you?", "What company are you with?",
             "What's your role there?", "Roughly how many people are on your team?"]


FALLBACK_SHARE = 0.02  # calls whose Deepgram fell back to Whisper: the usage page splits their figures


def _stt_fallback(at: datetime) -> dict:
    """As onboarding.providers.fallback.ProviderMonitor stores a switch."""
    return {"role": "stt", "from": "deepgram/nova-3", "to": "faster-whisper/tiny.en",
            "reason": "APIStatusError 500: fake outage", "at": (at + timedelta(seconds=30)).isoformat()}


def _usage_detail(seconds: float, fell_back: bool) -> list[dict]:
    """livekit-agents' per-model usage as onboarding.call stores it; a fallback call has two STT entries."""
    stt = [{"type": "stt_usage", "provider": "Deepgram", "model": "nova-3",
            "audio_duration": seconds / 2 if not fell_back else 30.0}]
    if fell_back:
        stt.append({"type": "stt_usage", "provider": "faster-whisper", "model": "tiny.en",
                    "audio_duration": max(0.0, seconds / 2 - 30.0)})
    return [*stt, {"type": "tts_usage", "provider": "ElevenLabs", "model": "eleven_flash_v2_5",
                   "characters_count": int(seconds * 3)},
            {"type": "llm_usage", "provider": "Gemini", "model": "gemini-2.5-flash", "input_tokens": 800,
             "output_tokens": 200}]


def _call_rows(first_id: int, count: int, rng: random.Random, epoch: datetime,
               total: int = PROFILES) -> tuple[list[dict], ...]:
    """One chunk of calls: session, profile, 10 turns and 3 field values each, and what the post-call digest writes
    for them (funnel rows, review items, the completed profile's webhook event and its delivery); ids assigned here."""
    calls, profiles, turns, values, stats, items, events, deliveries = [], [], [], [], [], [], [], []
    for pid in range(first_id, first_id + count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        email = f"{name.lower().replace(' ', '.')}{pid}@{rng.choice(COMPANIES).lower()}.com"
        company = rng.choice(COMPANIES)
        started = epoch + timedelta(seconds=rng.randrange(365 * 86400))
        seconds = rng.uniform(60, 480)
        completed = rng.random() < 0.7
        fell_back = rng.random() < FALLBACK_SHARE
        digested = pid <= total - PENDING_DIGEST
        version = VERSIONS[0] if rng.random() < 0.8 else VERSIONS[1]
        calls.append(dict(id=pid, room_name=f"onboarding-{pid:08x}", mode="voice", user_id=f"user-{pid % 20_000}",
                          definition_hash=version, origin=rng.choice(ORIGINS),
                          digested_at=started + timedelta(seconds=seconds + 2) if digested else None,
                          status="completed" if completed else "abandoned", started_at=started,
                          ended_at=started + timedelta(seconds=seconds), stt_provider="deepgram/nova-3",
                          llm_provider="google/gemini-2.5-flash", tts_provider="elevenlabs/eleven_flash_v2_5",
                          agent_seconds=seconds, stt_audio_seconds=seconds / 2, stt_billed_seconds=seconds,
                          tts_characters=int(seconds * 3), llm_input_tokens=800, llm_output_tokens=200,
                          usage_detail=_usage_detail(seconds, fell_back),
                          provider_fallbacks=[_stt_fallback(started)] if fell_back else None))
        flagged = ["email"] if rng.random() < 0.1 else []
        reviewed = rng.random() < 0.05
        profiles.append(dict(id=pid, session_id=pid, user_id=f"user-{pid}", full_name=name, email=email,
                             company=company, answers={"full_name": name, "email": email, "company": company},
                             flagged=flagged, completed=completed, created_at=started, updated_at=started,
                             reviewed_at=started + timedelta(days=1) if reviewed else None,
                             reviewed_by="admin" if reviewed else None))
        base = (pid - 1) * TURNS_PER_CALL + 1
        answers = [f"my name is {name}", email.replace("@", " at "), company, "head of growth", "about twenty"]
        day = f"{started:%Y/%m/%d}/{pid}"
        for index in range(TURNS_PER_CALL):
            agent = index % 2 == 0
            text = QUESTIONS[index // 2] if agent else answers[index // 2]
            turns.append(dict(id=base + index, session_id=pid, index=index, role="agent" if agent else "user",
                              text=text, interrupted=False, created_at=started + timedelta(seconds=6 * index),
                              asked_field=FIELDS[index // 2] if agent else None, read_back=False,
                              audio_key=f"{day}/{base + index}-{'agent' if agent else 'user'}.ogg",
                              audio_seconds=rng.uniform(1, 4),
                              e2e_latency=rng.uniform(0.4, 1.6) if agent and index else None,
                              llm_ttft=0.05 if agent else None, tts_ttfb=0.2 if agent else None,
                              end_of_turn_delay=None if agent else 0.35, transcription_delay=None if agent else 0.12))
        for k, (field, value) in enumerate((("full_name", name), ("email", email), ("company", company))):
            values.append(dict(id=(pid - 1) * 3 + k + 1, profile_id=pid, field=field, value=value,
                               raw_text=answers[k], confidence=0.9 if rng.random() > 0.05 else 0.5,
                               source="answer", turn_id=base + 2 * k + 1, current=True, created_at=started))
        if not digested:
            continue
        for k, field in enumerate(FIELDS):
            hung_up = not completed and k == len(FIELDS) - 1
            reasked = rng.random() < 0.1
            stats.append(dict(session_id=pid, field=field, started_at=started, definition_hash=version, reached=True,
                              answered_first_time=not reasked and not hung_up and rng.random() < 0.9,
                              reasked=reasked, corrected=rng.random() < 0.03, skipped=False,
                              flagged=field in flagged, hung_up=hung_up, seconds=rng.uniform(4, 30),
                              answer_turns=1 + reasked, replies=1, reply_seconds_total=rng.uniform(0.4, 1.6),
                              reply_seconds_max=rng.uniform(0.4, 1.6)))
        low = [v for v in values[-3:] if v["confidence"] < 0.7]
        for field, value_id, reason, priority, confidence in (
                [("email", values[-2]["id"], "flagged", 0, 0.9)] if flagged else []) + [
                (v["field"], v["id"], "low_confidence", 2, v["confidence"]) for v in low if v["field"] not in flagged]:
            items.append(dict(profile_id=pid, field=field, value_id=value_id, reasons=reason, priority=priority,
                              confidence=confidence, created_at=started,
                              resolved_at=started + timedelta(days=1) if reviewed else None,
                              resolved_by="admin" if reviewed else None, action="approved" if reviewed else None))
        if completed:
            events.append(dict(id=pid, event_id=f"evt_completed_{pid}", type="profile.completed", profile_id=pid,
                               created_at=started, fanned_out=True,
                               payload={"id": f"evt_completed_{pid}", "type": "profile.completed",
                                        "data": {"profile": {"id": pid}, "fields": {"full_name": {"value": name}}}}))
            status = "delivered" if rng.random() < 0.97 else rng.choice(["failed", "pending"])
            deliveries.append(dict(event_id=pid, url="https://hooks.example.com/onboarding", status=status,
                                   attempts=1 if status == "delivered" else 8, next_attempt_at=started,
                                   last_status_code=200 if status == "delivered" else 503,
                                   delivered_at=started if status == "delivered" else None, created_at=started,
                                   answers=[{"status_code": 200 if status == "delivered" else 503}]))
    return calls, profiles, turns, values, stats, items, events, deliveries


def seed(db_url: str, profiles: int = PROFILES) -> float:
    """Bulk-insert the calls in chunks of CHUNK; returns the seconds it took."""
    begin = time.perf_counter()
    engine = get_engine(db_url)
    rng, epoch = random.Random(7), datetime.now(UTC) - timedelta(days=365)
    tables = (CallSession, Profile, Turn, FieldValue, CallFieldStat, ReviewItem, WebhookEvent, WebhookDelivery)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for first in range(1, profiles + 1, CHUNK):
            chunk = _call_rows(first, min(CHUNK, profiles - first + 1), rng, epoch, profiles)
            for model, data in zip(tables, chunk, strict=True):
                if data:
                    conn.execute(insert(model), data)
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - begin


def seeded_profiles(db_url: str) -> int:
    with session_scope(db_url) as db:
        return db.exec(select(func.count()).select_from(Profile)).one()


@dataclass
class Timing:
    name: str
    median_ms: float
    p95_ms: float
    max_ms: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.p95_ms <= GOAL_MS


def timing(name: str, samples: list[float], note: str = "") -> Timing:
    return Timing(name, statistics.median(samples), percentile(samples, 0.95), max(samples), note)


def measure(name: str, fn: Callable[[], object], runs: int, note: str = "") -> Timing:
    fn()  # warm the engine and SQLite's page cache: pages are served by a long-running process
    samples = []
    for _ in range(runs):
        begin = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - begin) * 1000)
    return timing(name, samples, note)


ROOMS = 20


def rooms_timing(runs: int) -> Timing:
    """The rooms page's data: ListRooms + ListParticipants per room on a real local livekit-server with
    ROOMS rooms of one caller each (joined over WebRTC), as the page's 3 s refresh asks for it."""
    import asyncio
    import tempfile

    from livekit import rtc

    from harness.testbed import start_livekit
    from onboarding.admin.rooms import list_active_rooms
    from onboarding.livekit_admin import issue_token
    from onboarding.settings import Settings

    proc, settings = start_livekit(Settings(_env_file=None), Path(tempfile.mkdtemp()) / "livekit-server.log")
    settings = settings.model_copy(update={"agent_name": "bench-no-agent"})

    async def run() -> Timing:
        callers = []
        for _ in range(ROOMS):
            issued = issue_token(settings)
            room = rtc.Room()
            await room.connect(issued.ws_url, issued.token)
            callers.append(room)
        listing = await list_active_rooms(settings)
        assert listing.error is None and len(listing.rooms) == ROOMS, listing.banner
        samples = []
        for _ in range(runs):
            begin = time.perf_counter()
            await list_active_rooms(settings)
            samples.append((time.perf_counter() - begin) * 1000)
        for room in callers:
            await room.disconnect()
        return timing(f"rooms: {ROOMS} live rooms with their participants", samples, "LiveKit server API on loopback")

    try:
        return asyncio.run(run())
    finally:
        proc.stop()


def busiest_month() -> str:
    """The last complete month: a full month of calls (this one may be a day old)."""
    first = datetime.now(UTC).replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


def usage_timings(db_url: str, runs: int) -> list[Timing]:
    """The usage page's data: the month against the tiers, then day by day against the plan, and cost per user."""
    from onboarding.admin.usage import COST_PAGE_ROWS, cost_table, usage_page_data, usage_trend
    from onboarding.settings import Settings
    from onboarding.usage.monthly import month_choices
    from onboarding.usage.pricing import load_pricing

    pricing = load_pricing()
    month = busiest_month()
    settings = Settings(_env_file=None, database_url=db_url, monthly_budget=100)
    data = usage_page_data(db_url, month, pricing)
    return [measure("usage: month selector (months with data)", lambda: month_choices(db_url), runs),
            measure(f"usage: page data for {month}", lambda: usage_page_data(db_url, month, pricing), runs),
            measure(f"usage: minutes and peaks per day, forecast, budget ({month})",
                    lambda: usage_trend(settings, month, pricing, data), runs),
            measure(f"usage: cost per user id ({month})",
                    lambda: cost_table(db_url, month, pricing, limit=COST_PAGE_ROWS), runs,
                    f"every user priced, the {COST_PAGE_ROWS} dearest shown"),
            measure(f"usage: cost per embedding origin ({month})",
                    lambda: cost_table(db_url, month, pricing, "origin", limit=COST_PAGE_ROWS), runs),
            measure(f"usage: CSV export of cost per user id ({month})",
                    lambda: cost_table(db_url, month, pricing), runs, "a download: every user formatted")]


def profile_timings(db_url: str, runs: int, profiles: int) -> list[Timing]:
    from onboarding.admin.latency import call_timeline

    definition = load_definition()
    total = list_profiles(db_url, ProfileFilter()).pages
    month_ago = (datetime.now(UTC) - timedelta(days=30)).date()
    return [
        measure("profiles: page 1, no filter", lambda: list_profiles(db_url), runs),
        measure("profiles: search 'garcia'", lambda: list_profiles(db_url, ProfileFilter(search="garcia")), runs),
        measure("profiles: search with no match", lambda: list_profiles(db_url, ProfileFilter(search="zzqx")), runs,
                "scans every row: worst case"),
        measure("profiles: search 'garcia', last page",
                lambda: list_profiles(db_url, ProfileFilter(search="garcia"), page=10_000), runs,
                "past the end: clamps to the last page"),
        measure("profiles: search 'onboarding-' (matches all)",
                lambda: list_profiles(db_url, ProfileFilter(search="onboarding-")), runs),
        measure("profiles: status flagged", lambda: list_profiles(db_url, ProfileFilter(status="flagged")), runs),
        measure("profiles: completed, last 30 days",
                lambda: list_profiles(db_url, ProfileFilter(status="completed", date_from=month_ago)), runs),
        measure(f"profiles: deep page ({total} of {total})", lambda: list_profiles(db_url, page=total), runs),
        measure("profiles: detail with transcript",
                lambda: load_profile_detail(db_url, profiles // 2, definition), runs),
        measure("profiles: the call's latency timeline", lambda: call_timeline(db_url, profiles // 2), runs),
    ]


def console_timings(db_url: str, runs: int) -> list[Timing]:
    """The review queue, funnel, latency and webhook pages' data, and the post-call digest per call."""
    from onboarding.admin.funnel import funnel, versions
    from onboarding.admin.latency import slowest_calls, slowest_questions
    from onboarding.admin.queue import open_items, recently_settled
    from onboarding.admin.webhooks import delivery_log, status_counts
    from onboarding.postcall import DigestRules, digest_call, pending_calls

    definition = load_definition()
    month = busiest_month()
    timings = [
        measure("review queue: first page, most urgent first", lambda: open_items(db_url), runs),
        measure("review queue: page 40", lambda: open_items(db_url, offset=1000), runs),
        measure("review queue: recently settled", lambda: recently_settled(db_url), runs),
        measure(f"funnel: {month}, every version", lambda: funnel(db_url, month, definition), runs),
        measure(f"funnel: {month}, one version", lambda: funnel(db_url, month, definition, VERSIONS[0]), runs),
        measure(f"funnel: versions in {month}", lambda: versions(db_url, month), runs),
        measure(f"latency: slowest questions in {month}", lambda: slowest_questions(db_url, month, definition),
                runs),
        measure(f"latency: slowest calls in {month}", lambda: slowest_calls(db_url, month), runs),
        measure("webhooks: delivery log, newest first", lambda: delivery_log(db_url), runs),
        measure("webhooks: failed deliveries", lambda: delivery_log(db_url, "failed"), runs),
        measure("webhooks: counts per status", lambda: status_counts(db_url), runs),
    ]
    rules, samples = DigestRules(definition.names, 0.7), []
    for call_id in pending_calls(db_url, PENDING_DIGEST)[:runs + 1]:
        begin = time.perf_counter()
        with session_scope(db_url) as db:
            digest_call(db, call_id, rules)
        samples.append((time.perf_counter() - begin) * 1000)
    if len(samples) > 1:
        timings.append(timing("post-call digest: one closed call", samples[1:],
                              "funnel rows, review items and webhook event in one transaction (background loop)"))
    return timings


def report(timings: list[Timing], notes: list[str], seed_seconds: float | None, runs: int, profiles: int) -> str:
    seeded = f"seeded in {seed_seconds:.0f} s" if seed_seconds is not None else "reused the seeded database"
    lines = [
        "# Dashboard data benchmark", "",
        f"{profiles:,} profiles, {profiles * TURNS_PER_CALL:,} turns, {profiles * 3:,} field values, the post-call "
        f"digest's funnel rows, review items and webhook deliveries in SQLite ({seeded}). Server-side time of each "
        f"page's data function: median, 95th percentile and max of {runs} runs after one warm-up; goal: p95 ≤ "
        f"{GOAL_MS:.0f} ms. Month figures use the last complete month. Machine: {machine()}. "
        "Run: `python -m bench.dashboard_bench`.", "",
        "| Data | Median ms | p95 ms | Max ms | p95 ≤ 300 ms | Note |", "|---|---:|---:|---:|---|---|",
        *(f"| {t.name} | {t.median_ms:.1f} | {t.p95_ms:.1f} | {t.max_ms:.1f} | {'yes' if t.ok else '**no**'} | "
          f"{t.note} |" for t in timings),
    ]
    lines += ["", *(f"- {note}" for note in notes)] if notes else []
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reseed", action="store_true", help="delete and rebuild the seeded database")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profiles", type=int, default=PROFILES, help="a smaller run for a smoke test")
    parser.add_argument("--no-rooms", action="store_true", help="skip the rooms page (it starts livekit-server)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    full = args.profiles == PROFILES
    path = DB_PATH if full else DB_PATH.with_name(f"dashboard-{args.profiles}.db")
    out = OUT if full else OUT.with_name(f"dashboard-benchmark-{args.profiles}.md")
    db_url = f"sqlite:///{path}"
    seed_seconds = None
    if args.reseed or not path.exists() or seeded_profiles(db_url) != args.profiles:
        dispose_engine(db_url)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        log.info("seeding %s profiles and %s turns into %s", f"{args.profiles:,}",
                 f"{args.profiles * TURNS_PER_CALL:,}", path)
        seed_seconds = seed(db_url, args.profiles)
        log.info("seeded in %.1f s", seed_seconds)
    import dashboard  # the process the pages run in: Gradio and the app loaded, startup objects frozen

    dashboard.freeze_startup_objects()
    timings = profile_timings(db_url, args.runs, args.profiles)
    notes = []
    if not args.no_rooms:
        timings.append(rooms_timing(args.runs))
    timings += usage_timings(db_url, args.runs)
    timings += console_timings(db_url, args.runs)
    text = report(timings, notes, seed_seconds, args.runs, args.profiles)
    out.write_text(text, encoding="utf-8")
    print(text)
    return 0 if all(t.ok for t in timings) else 1


if __name__ == "__main__":
    raise SystemExit(main())
