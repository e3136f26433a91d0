"""`make bench` (dashboard part): each admin page's data at 100,000 profiles and 1,000,000 turns, goal ≤ 300 ms.

Seeds a SQLite database under .cache/bench/ once (bulk Core inserts in chunks; reused on later runs,
`--reseed` to rebuild), then times the data functions the pages call, server side, median of several
runs, and writes the table with the machine to docs/dashboard-benchmark.md.

    python -m bench.dashboard_bench [--reseed] [--runs 7]
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

from bench.common import machine
from models import CallSession, FieldValue, Profile, Turn
from onboarding.admin.profiles import ProfileFilter, list_profiles
from onboarding.admin.review import load_profile_detail
from onboarding.db import dispose_engine, get_engine, session_scope
from onboarding.interview import load_definition
from onboarding.settings import REPO_ROOT

log = logging.getLogger("bench.dashboard")
DB_PATH = REPO_ROOT / ".cache" / "bench" / "dashboard.db"
OUT = REPO_ROOT / "docs" / "dashboard-benchmark.md"
PROFILES, TURNS_PER_CALL, CHUNK = 100_000, 10, 5_000
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


def _call_rows(first_id: int, count: int, rng: random.Random, epoch: datetime) -> tuple[list[dict], ...]:
    """One chunk of calls: session, profile, 10 turns and 3 field values each, ids assigned here."""
    calls, profiles, turns, values = [], [], [], []
    for pid in range(first_id, first_id + count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        email = f"{name.lower().replace(' ', '.')}{pid}@{rng.choice(COMPANIES).lower()}.com"
        company = rng.choice(COMPANIES)
        started = epoch + timedelta(seconds=rng.randrange(365 * 86400))
        seconds = rng.uniform(60, 480)
        completed = rng.random() < 0.7
        fell_back = rng.random() < FALLBACK_SHARE
        calls.append(dict(id=pid, room_name=f"onboarding-{pid:08x}", mode="voice", user_id=f"user-{pid}",
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
        for index in range(TURNS_PER_CALL):
            text = QUESTIONS[index // 2] if index % 2 == 0 else answers[index // 2]
            turns.append(dict(id=base + index, session_id=pid, index=index, role="agent" if index % 2 == 0 else "user",
                              text=text, interrupted=False, created_at=started + timedelta(seconds=6 * index)))
        for k, (field, value) in enumerate((("full_name", name), ("email", email), ("company", company))):
            values.append(dict(profile_id=pid, field=field, value=value, raw_text=answers[k], confidence=0.9,
                               source="answer", turn_id=base + 2 * k + 1, current=True, created_at=started))
    return calls, profiles, turns, values


def seed(db_url: str, profiles: int = PROFILES) -> float:
    """Bulk-insert the calls in chunks of CHUNK; returns the seconds it took."""
    begin = time.perf_counter()
    engine = get_engine(db_url)
    rng, epoch = random.Random(7), datetime.now(UTC) - timedelta(days=365)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for first in range(1, profiles + 1, CHUNK):
            calls, rows, turns, values = _call_rows(first, min(CHUNK, profiles - first + 1), rng, epoch)
            for model, data in ((CallSession, calls), (Profile, rows), (Turn, turns), (FieldValue, values)):
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
    max_ms: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.median_ms <= GOAL_MS


def measure(name: str, fn: Callable[[], object], runs: int, note: str = "") -> Timing:
    fn()  # warm the engine and SQLite's page cache: pages are served by a long-running process
    samples = []
    for _ in range(runs):
        begin = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - begin) * 1000)
    return Timing(name, statistics.median(samples), max(samples), note)


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
        return Timing(f"rooms: {ROOMS} live rooms with their participants", statistics.median(samples),
                      max(samples), "LiveKit server API on loopback")

    try:
        return asyncio.run(run())
    finally:
        proc.stop()


def usage_timings(db_url: str, runs: int) -> list[Timing]:
    """The usage page's data."""
    from onboarding.admin.usage import usage_page_data
    from onboarding.usage.monthly import current_month, month_choices
    from onboarding.usage.pricing import load_pricing

    pricing = load_pricing()
    month = current_month()
    return [measure("usage: month selector (months with data)", lambda: month_choices(db_url), runs),
            measure(f"usage: page data for {month}", lambda: usage_page_data(db_url, month, pricing), runs)]


def profile_timings(db_url: str, runs: int) -> list[Timing]:
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
                lambda: load_profile_detail(db_url, PROFILES // 2, definition), runs),
    ]


def report(timings: list[Timing], notes: list[str], seed_seconds: float | None, runs: int) -> str:
    seeded = f"seeded in {seed_seconds:.0f} s" if seed_seconds is not None else "reused the seeded database"
    lines = [
        "# Dashboard data benchmark", "",
        f"{PROFILES:,} profiles, {PROFILES * TURNS_PER_CALL:,} turns, {PROFILES * 3:,} field values in SQLite "
        f"({seeded}). Server-side time of each page's data function, median (and max) of {runs} runs after one "
        f"warm-up; goal ≤ {GOAL_MS:.0f} ms. Machine: {machine()}. Run: `python -m bench.dashboard_bench`.", "",
        "| Data | Median ms | Max ms | ≤ 300 ms | Note |", "|---|---:|---:|---|---|",
        *(f"| {t.name} | {t.median_ms:.1f} | {t.max_ms:.1f} | {'yes' if t.ok else '**no**'} | {t.note} |"
          for t in timings),
    ]
    lines += ["", *(f"- {note}" for note in notes)] if notes else []
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reseed", action="store_true", help="delete and rebuild the seeded database")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    db_url = f"sqlite:///{DB_PATH}"
    seed_seconds = None
    if args.reseed or not DB_PATH.exists() or seeded_profiles(db_url) != PROFILES:
        dispose_engine(db_url)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
        log.info("seeding %s profiles and %s turns into %s", f"{PROFILES:,}", f"{PROFILES * TURNS_PER_CALL:,}", DB_PATH)
        seed_seconds = seed(db_url)
        log.info("seeded in %.1f s", seed_seconds)
    timings = profile_timings(db_url, args.runs)
    notes = []
    timings.append(rooms_timing(args.runs))
    timings += usage_timings(db_url, args.runs)
    text = report(timings, notes, seed_seconds, args.runs)
    OUT.write_text(text, encoding="utf-8")
    print(text)
    return 0 if all(t.ok for t in timings) else 1


if __name__ == "__main__":
    raise SystemExit(main())
