"""`make bench` cloud-fakes mode: how many concurrent calls one worker carries on ONE core with cloud speech.

    python -m bench.cloud_bench [N ...] [--gemini] [--executor process|thread] [--worker-from DIR] [--no-pin]

Default rounds 1 5 10 15 20 (stopping once p95 passes twice the aim). The worker talks to local fakes of Deepgram
and ElevenLabs (and Gemini with `--gemini`) that answer after fixed service times; Deepgram's fake hears by
script (each caller announces what it is about to say) and ElevenLabs' speaks slices of a clip rendered at start,
so neither spends CPU per request. The worker is pinned to core 1 with taskset, this process, livekit-server and
the fakes to core 0. `--worker-from DIR` runs the worker of another checkout (an A/B against older code) with the
same harness. Results: docs/cloud-benchmark.md and the "cloud" section of docs/capacity.json (doctor reads it).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import psutil

from bench.common import machine, write_section
from bench.worker_bench import (
    ARRIVE_EVERY_S,
    Row,
    arrivals,
    caller_answers,
    failures,
    logs_dir,
    memory,
    pin_harness,
    run_round,
    stages_table,
    table,
    update_capacity,
    who,
)
from harness.caller_audio import prerender
from harness.fakes.deepgram import FakeDeepgram
from harness.fakes.elevenlabs import FakeElevenLabs
from harness.fakes.gemini import FakeGemini
from harness.fakes.server import Latency
from harness.fakes.settings import DEEPGRAM_KEY, ELEVEN_KEY, GOOGLE_KEY, cloud_env, cloud_settings
from harness.personas import PERSONAS
from harness.testbed import stack_settings, start_livekit, start_worker
from onboarding.settings import REPO_ROOT, Settings

OUT = REPO_ROOT / "docs" / "cloud-benchmark.md"
P95_GOAL_MS = 1200.0
CPU_HEADROOM = 0.85  # share of a core the capacity estimate lets the calls use
# Fixed service times: Deepgram's final after the endpoint, ElevenLabs' first audio (its flash model's
# published ~75 ms plus a network round trip), Gemini Flash's first token.
DEEPGRAM_LATENCY = Latency(connect=0.05, first_result=0.15)
ELEVENLABS_LATENCY = Latency(connect=0.05, first_result=0.15)
GEMINI_LATENCY = Latency(connect=0.05, first_result=0.35)
WORKER_CORE, HARNESS_CORE = 1, 0


def fake_service_ms(gemini: bool) -> float:
    return 1000 * (DEEPGRAM_LATENCY.first_result + ELEVENLABS_LATENCY.first_result
                   + (GEMINI_LATENCY.first_result if gemini else 0.0))


def start_fakes(gemini: bool) -> tuple[FakeDeepgram, FakeElevenLabs, FakeGemini | None]:
    deepgram = FakeDeepgram(DEEPGRAM_KEY, ears="script").start()
    deepgram.latency = DEEPGRAM_LATENCY
    eleven = FakeElevenLabs(ELEVEN_KEY, engine="flite", prerendered=True).start()
    eleven.latency = ELEVENLABS_LATENCY
    llm = None
    if gemini:
        llm = FakeGemini(GOOGLE_KEY).start()
        llm.latency = GEMINI_LATENCY
    return deepgram, eleven, llm


def capacity(rows: list[Row], spaced: bool = False) -> tuple[int, int | None]:
    """(largest N that met the aims on the one core, the CPU-implied calls per core at that N's cost), over the
    rounds whose callers dialled together, or (`spaced`) arrived apart; a lone caller counts for both."""
    rows = [r for r in rows if r.callers == 1 or bool(r.arrive_every) == spaced]
    good = [r for r in rows if r.meets(P95_GOAL_MS)]
    largest = max((r.callers for r in good), default=0)
    measured = next((r for r in good if r.callers == largest), None)
    per_core = math.floor(100 * CPU_HEADROOM / measured.cpu_per_session) if measured else None
    return largest, per_core


def report(rows: list[Row], args: argparse.Namespace, service: float, started: float, pinned: bool) -> str:
    largest, cpu_implied = capacity(rows)
    spaced, _ = capacity(rows, spaced=True)
    llm = "Gemini fake" if args.gemini else "scripted interviewer"
    code = f"the worker of `{args.worker_from}`" if args.worker_from else "this checkout's worker"
    where = (f"pinned to core {WORKER_CORE} (`taskset -c {WORKER_CORE}`), the harness, livekit-server and the fakes "
             f"on core {HARNESS_CORE}" if pinned else "not pinned (`--no-pin`)")
    return (
        f"# Cloud-fakes benchmark\n\nRun {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}. "
        f"Took {time.monotonic() - started:.0f} s.\n\n"
        f"{code} ({args.executor} executor), {where}. Deepgram STT and ElevenLabs TTS served by local fakes, {llm}, "
        "Silero VAD + v1-mini end of turn in the worker, real livekit-server v1.13.5, simulated callers answering "
        "over WebRTC with audio rendered before the run (`python -m bench.cloud_bench`). Fixed fake service times: "
        f"Deepgram final {DEEPGRAM_LATENCY.first_result * 1000:.0f} ms, ElevenLabs first audio "
        f"{ELEVENLABS_LATENCY.first_result * 1000:.0f} ms"
        + (f", Gemini first token {GEMINI_LATENCY.first_result * 1000:.0f} ms" if args.gemini else "")
        + f" ({service:.0f} ms per turn in all). Voice-to-voice: end of the caller's speech → first agent audio "
        "at the caller. Worker CPU: CPU-seconds of every worker process (exited job processes included) per "
        "session-second, in % of one core. USS/PSS per session: (the round's peak − the worker's idle before its "
        "first round) of its tree over N.\n\n"
        + table(rows)
        + f"\n\nLargest N on one core with p95 ≤ {P95_GOAL_MS:.0f} ms, no failed turn and every call completed, "
        f"callers dialling together: **{largest}** (a 2-core box: **{2 * largest}**)"
        + (f"; arriving {args.arrive_every:g} s apart: **{spaced}** (**{2 * spaced}**)" if args.arrive_every else "")
        + f". At that N's CPU cost a core carries ≈ "
        f"{cpu_implied if cpu_implied is not None else '—'} calls at {CPU_HEADROOM:.0%} use.{failures(rows)}\n\n"
        "Where a reply's time goes (medians of livekit-agents' own per-turn figures; see `docs/benchmark.md`):\n\n"
        + stages_table(rows) + "\n"
    )


def spaced_capacity(rows: list[Row]) -> str:
    """", arriving 3 s apart **5 per core, 10 per 2-core box**" when the rounds ran spaced too, else ""."""
    spacing = max((r.arrive_every for r in rows), default=0.0)
    if not spacing:
        return ""
    spaced, _ = capacity(rows, spaced=True)
    return f", arriving {spacing:g} s apart **{spaced} per core, {2 * spaced} per 2-core box**"


def headline(rows: list[Row], pinned: bool) -> str:
    """The README's lines: the cloud-speech rows in brief and the capacity they imply."""
    largest, cpu_implied = capacity(rows)
    cells = "; ".join(f"{who(r, 'call')}: p50 {r.p50_ms:.0f} / p95 {r.p95_ms:.0f} ms, {r.failed_turns} failed turns, "
                      f"{r.completed}/{r.callers} completed, {r.cpu_per_session:.1f} % of a core and "
                      f"{r.uss_per_session_mb:.0f} MB USS per call" for r in rows)
    where = "one worker pinned to one core" if pinned else "one worker (not pinned)"
    return (f"**Cloud speech** (Deepgram/ElevenLabs fakes, {where}, {machine()}): {cells}. Largest N within the aims "
            f"(p95 ≤ {P95_GOAL_MS:.0f} ms, no failed turn): callers dialling together **{largest} per core, "
            f"{2 * largest} per 2-core box**{spaced_capacity(rows)}; the "
            f"CPU cost alone would allow ≈ {cpu_implied if cpu_implied is not None else '—'} per core "
            "(`docs/cloud-benchmark.md`).")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("counts", nargs="*", type=int, default=[1, 5, 10, 15, 20])
    parser.add_argument("--gemini", action="store_true")
    parser.add_argument("--executor", choices=["process", "thread"], default=Settings(_env_file=None).job_executor)
    parser.add_argument("--worker-from", type=Path, help="run the worker of another checkout (A/B)")
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the worker (e.g. ENDPOINTING_MAX_DELAY=1.2, an older default)")
    parser.add_argument("--arrive-every", type=float, default=ARRIVE_EVERY_S, metavar="SECONDS",
                        help="each round of several callers runs twice: all dialling at once, then one caller every "
                             "SECONDS (0: at once only)")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    started = time.monotonic()
    pinned = not args.no_pin and (os.cpu_count() or 1) >= 2
    if pinned:
        pin_harness({HARNESS_CORE})
    logs = logs_dir("cloud-bench-")
    audio = prerender(caller_answers(PERSONAS))
    lk, base = start_livekit(Settings(_env_file=None), logs / "livekit-server.log")
    settings = stack_settings(base, f"sqlite:///{logs / 'bench.db'}", "onboarding-cloud-bench")
    jobs = max(args.counts) + 2
    settings = settings.model_copy(update={"max_jobs_per_worker": jobs, "job_executor": args.executor})
    deepgram, eleven, llm = start_fakes(args.gemini)
    env = cloud_env(cloud_settings(settings, deepgram, eleven, llm))
    overrides = {**env, "TTS_ENGINE": "flite", "MAX_JOBS_PER_WORKER": str(jobs),
                 "TTS_CACHE_DIR": str(logs / "tts-cache"), **dict(pair.split("=", 1) for pair in args.worker_env)}
    worker = start_worker(settings, logs / "agent-worker.log", cpus=[WORKER_CORE] if pinned else None,
                          cwd=args.worker_from or REPO_ROOT, **overrides)
    rows: list[Row] = []
    idle = memory(psutil.Process(worker.proc.pid))[:2]  # every round's memory per session from this floor
    service = fake_service_ms(args.gemini)
    try:
        for n in args.counts:
            for spacing in arrivals(n, args.arrive_every):
                rows.append(run_round(settings, worker.proc.pid, n, audio, on_answer=deepgram.expect,
                                      arrive_every=spacing, idle=idle))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
            if all(r.p95_ms > 2 * P95_GOAL_MS for r in rows if r.callers == n):
                break  # far past the aim both ways: larger rounds only measure a queue
    finally:
        worker.stop()
        for fake in (deepgram, eleven, llm):
            if fake is not None:
                fake.stop()
        lk.stop()
    text = report(rows, args, service, started, pinned)
    args.out.write_text(text)
    largest, cpu_implied = capacity(rows)
    if not args.worker_from and not args.gemini and pinned and args.out == OUT:
        write_section(REPO_ROOT / "README.md", "performance-cloud", headline(rows, pinned))
        best = next((r for r in rows if r.callers == largest), None)
        update_capacity("cloud", {
            "calls_per_core": largest, "calls_per_core_arriving_apart": capacity(rows, spaced=True)[0],
            "cpu_implied_calls_per_core": cpu_implied,
            "cpu_percent_per_session": round(best.cpu_per_session, 2) if best else None,
            "uss_mb_per_session": round(best.uss_per_session_mb, 1) if best else None,
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine()})
    print(text)
    print(f"written to {args.out}; logs in {logs}")


if __name__ == "__main__":
    main(sys.argv[1:])
