"""What each per-frame option costs a session: the worker with one option undone at a time, in one sitting.

    python -m bench.frame_options [--callers N] [VARIANT ...]      (default 5 callers, every variant)
    python -m bench.frame_options --rounds 2 --section native-logs shipped logs-forwarded   (one option, alternated)

Same harness as bench.cloud_bench (cloud fakes, audio rendered before the run, worker pinned to core 1, the rest
on core 0), one round of N callers per variant, each variant with a fresh worker (`bench.ab_worker`). Writes the
table of docs/density.md's "Per-frame options" section between its markers (or another section's, `--section`:
a few variants in alternated rounds, for an option whose effect is smaller than one round's spread).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.ab_worker import VARIANTS
from bench.cloud_bench import HARNESS_CORE, WORKER_CORE, start_fakes
from bench.common import machine, write_section
from bench.worker_bench import Row, caller_answers, logs_dir, pin_harness, run_round
from harness.caller_audio import prerender
from harness.fakes.settings import cloud_env, cloud_settings
from harness.personas import PERSONAS
from harness.testbed import stack_settings, start_livekit, start_worker
from onboarding.settings import REPO_ROOT, Settings

DOC = REPO_ROOT / "docs" / "density.md"
WHAT = {
    "shipped": "as shipped: 16 kHz input, AGC off, captions unpaced, no session host, output at the TTS rate, "
               "VAD inline, native logs kept native",
    "agc": "automatic gain control on (`AudioInputOptions(auto_gain_control=True)`)",
    "input-24k": "caller audio at the default 24 kHz (`AudioInputOptions(sample_rate=16000)` undone)",
    "output-24k": "agent track at the default 24 kHz (`AudioOutputOptions(sample_rate=<TTS rate>)` undone)",
    "sync-transcript": "captions paced with the audio (`TextOutputOptions(sync_transcription=False)` undone)",
    "session-host": "SessionHost data channel on (`session_host=False` undone)",
    "vad-thread": "VAD inference on a thread per stream (`inference.VAD(executor=INLINE)` undone)",
    "loop-watch-100": "livekit's loop watchdog at its 100 ms default, 20 ms ticks (`LOOP_BLOCK_WARN_MS=250` undone)",
    "logs-forwarded": "every native log record handed to Python, TRACE included (`keep_native_logs_native` undone)",
    "before": "all of the above undone (livekit-agents 1.8.9 defaults)",
}


def table(rows: list[tuple[str, Row]]) -> str:
    """One line per round; Δ against the mean of the shipped rounds."""
    shipped = [row.cpu_per_session for name, row in rows if name == "shipped"]
    base = sum(shipped) / len(shipped) if shipped else None
    lines = ["| variant | what | worker CPU % of a core per session | Δ vs shipped | v2v p95 ms | failed turns |",
             "|---|---|---|---|---|---|"]
    for name, row in rows:
        delta = f"{row.cpu_per_session - base:+.1f}" if base is not None and name != "shipped" else "—"
        lines.append(f"| `{name}` | {WHAT[name]} | {row.cpu_per_session:.1f} | {delta} | {row.p95_ms:.0f} "
                     f"| {row.failed_turns} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", default=list(VARIANTS), help=", ".join(VARIANTS))
    parser.add_argument("--callers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1, help="run the variants this many times, alternated")
    parser.add_argument("--section", default="frame-options", help="the docs/density.md section to write")
    args = parser.parse_args(argv)
    started = time.monotonic()
    pinned = (os.cpu_count() or 1) >= 2
    if pinned:
        pin_harness({HARNESS_CORE})
    logs = logs_dir("frame-options-")
    audio = prerender(caller_answers(PERSONAS))
    lk, base = start_livekit(Settings(_env_file=None), logs / "livekit-server.log")
    deepgram, eleven, _ = start_fakes(gemini=False)
    rows: list[tuple[str, Row]] = []
    try:
        for round_no, variant in ((n, v) for n in range(args.rounds) for v in args.variants):
            run = f"{variant}-{round_no}"
            settings = stack_settings(base, f"sqlite:///{logs / f'{run}.db'}", f"onboarding-ab-{run}")
            settings = settings.model_copy(update={"max_jobs_per_worker": args.callers + 2})
            worker = start_worker(settings, logs / f"agent-worker-{run}.log",
                                  cpus=[WORKER_CORE] if pinned else None,
                                  command=[sys.executable, "-m", "bench.ab_worker"], BENCH_VARIANT=variant,
                                  TTS_ENGINE="flite", MAX_JOBS_PER_WORKER=str(args.callers + 2),
                                  **cloud_env(cloud_settings(settings, deepgram, eleven)))
            try:
                rows.append((variant, run_round(settings, worker.proc.pid, args.callers, audio,
                                                on_answer=deepgram.expect)))
            finally:
                worker.stop()
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    finally:
        deepgram.stop()
        eleven.stop()
        lk.stop()
    text = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}; "
            f"{args.callers} concurrent cloud-fakes callers, worker pinned to one core"
            f"{'' if pinned else ' (not pinned: one core only)'}, "
            f"{'one round per variant' if args.rounds == 1 else f'{args.rounds} rounds per variant, alternated'}, "
            f"a fresh worker each (`python -m bench.frame_options{' ' + ' '.join(argv) if argv else ''}`, "
            f"{time.monotonic() - started:.0f} s).\n\n{table(rows)}")
    write_section(DOC, args.section, text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
