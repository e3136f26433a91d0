"""`make bench` offline mode: N concurrent simulated callers through full spoken onboardings, local speech only.

    python -m bench.voice_bench [N ...] [--arrive-every S] [--executor process|thread] [--worker-from DIR]
    (default: 1 caller, then 5 at once and 5 arriving 3 s apart)

Starts its own livekit-server and agent worker on free ports (Silero VAD + v1-mini end of turn, Whisper tiny.en
int8, the scripted interviewer, Piper joe), runs the rounds, and writes docs/benchmark.md with the machine and the
"offline" section of docs/capacity.json. Callers answer with audio rendered before the run. The worker uses every
core here (Whisper and Piper need them), so this process shares them: it only plays prepared audio.
"""

from __future__ import annotations

import argparse
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
    run_round,
    stages_table,
    table,
    update_capacity,
    who,
)
from harness.caller_audio import prerender
from harness.personas import PERSONAS
from harness.testbed import stack_settings, start_livekit, start_worker
from onboarding.settings import REPO_ROOT, Settings

OUT = REPO_ROOT / "docs" / "benchmark.md"
ONE_CALLER_AIM_MS = (700.0, 1000.0)  # p50, p95
CONCURRENT_P95_AIM_MS = 1500.0


def report(rows: list[Row], args: argparse.Namespace, started: float) -> str:
    code = f"the worker of `{args.worker_from}`" if args.worker_from else "this checkout's worker"
    return (f"# Voice benchmark (offline: local speech)\n\nRun {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
            f"on: {machine()}. Took {time.monotonic() - started:.0f} s.\n\n"
            f"Local providers (Silero VAD + v1-mini end of turn, Whisper tiny.en int8 in the worker's shared inference "
            f"process, scripted interviewer, Piper joe with its sentence cache), real livekit-server v1.13.5, "
            f"{code} ({args.executor} executor, all cores), simulated callers speaking flite audio rendered before "
            "the run, over WebRTC (`python -m bench.voice_bench`). Voice-to-voice = end of the caller's speech "
            "→ first agent audio at the caller. Worker CPU: every worker process, exited ones included, per "
            "session-second, in % of one core. Several callers run twice: dialling in the same instant (they then "
            "hear the same questions and answer nearly together all call long, the worst case for the one shared "
            f"Whisper), and arriving {args.arrive_every:g} s apart, as a line of callers does.\n\n" + table(rows)
            + f"\n\nAims: one caller p50 ≤ {ONE_CALLER_AIM_MS[0]:.0f} ms and p95 ≤ {ONE_CALLER_AIM_MS[1]:.0f} ms; "
            f"5 callers p95 ≤ {CONCURRENT_P95_AIM_MS:.0f} ms with no failed turn.{failures(rows)}\n\n"
            "Where a reply's time goes (medians of livekit-agents' own per-turn figures, from the end of the "
            "caller's speech: end of turn decided, final transcript; from the reply's start: the interviewer's "
            "first token, the TTS's first audio; worker e2e: end of speech → first audio out of the worker):\n\n"
            + stages_table(rows) + "\n")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("counts", nargs="*", type=int, default=[1, 5])
    parser.add_argument("--executor", choices=["process", "thread"], default=Settings(_env_file=None).job_executor)
    parser.add_argument("--worker-from", type=Path, help="run the worker of another checkout (A/B)")
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the worker (e.g. ENDPOINTING_MAX_DELAY=1.2, an older default)")
    parser.add_argument("--arrive-every", type=float, default=ARRIVE_EVERY_S, metavar="SECONDS",
                        help="each round of several callers runs twice: all dialling at once, then one caller every "
                             "SECONDS (0: at once only)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    started = time.monotonic()
    logs = logs_dir("voice-bench-")
    audio = prerender(caller_answers(PERSONAS))
    lk, base = start_livekit(Settings(_env_file=None), logs / "livekit-server.log")
    settings = stack_settings(base, f"sqlite:///{logs / 'bench.db'}", "onboarding-bench")
    jobs = max(args.counts) + 2
    settings = settings.model_copy(update={"max_jobs_per_worker": jobs, "job_executor": args.executor})
    overrides = {"MAX_JOBS_PER_WORKER": str(jobs), **dict(pair.split("=", 1) for pair in args.worker_env)}
    worker = start_worker(settings, logs / "agent-worker.log", cwd=args.worker_from or REPO_ROOT, **overrides)
    rows: list[Row] = []
    idle = memory(psutil.Process(worker.proc.pid))[:2]  # every round's memory per session from this floor
    try:
        for n in args.counts:
            for spacing in arrivals(n, args.arrive_every):
                rows.append(run_round(settings, worker.proc.pid, n, audio, arrive_every=spacing, idle=idle))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    finally:
        worker.stop()
        lk.stop()
    text = report(rows, args, started)
    args.out.write_text(text)
    good = [r.callers for r in rows if not r.arrive_every and r.meets(CONCURRENT_P95_AIM_MS)]
    good_apart = [r.callers for r in rows if r.arrive_every and r.meets(CONCURRENT_P95_AIM_MS)]
    if not args.worker_from and args.out == OUT:
        cells = "; ".join(f"{who(r)}: p50 {r.p50_ms:.0f} / p95 {r.p95_ms:.0f} ms, "
                          f"{r.failed_turns} failed turns, {r.completed}/{r.callers} completed, "
                          f"{r.cpu_per_session:.0f} % of a core per call" for r in rows)
        first = rows[0].stages_ms
        if "STT final" in first and "worker e2e" in first:  # where a reply's time goes, in the quietest round
            cells += (f"; with {rows[0].callers} caller{'s' * (rows[0].callers > 1)} the final transcript comes "
                      f"{first['STT final']:.0f} ms after the end of speech (median) of the worker's "
                      f"{first['worker e2e']:.0f} ms to first audio, the TTS's first audio "
                      f"{first.get('TTS first audio', float('nan')):.0f} ms")
        write_section(REPO_ROOT / "README.md", "performance-offline",
                      f"**Offline** (Whisper tiny.en, Piper, one worker on every core, {machine()}): {cells}. Aims: "
                      f"one caller p50 ≤ {ONE_CALLER_AIM_MS[0]:.0f} / p95 ≤ {ONE_CALLER_AIM_MS[1]:.0f} ms, five "
                      f"p95 ≤ {CONCURRENT_P95_AIM_MS:.0f} ms (`docs/benchmark.md`).")
        update_capacity("offline", {"calls_per_worker": max(good, default=0),
                                    "calls_per_worker_arriving_apart": max(good + good_apart, default=0),
                                    "cores": os.cpu_count(),
                                    "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                    "machine": machine()})
    print(text)
    print(f"written to {args.out}; logs in {logs}")


if __name__ == "__main__":
    main(sys.argv[1:])
