"""`make bench`: N concurrent simulated callers through full spoken onboardings.

Starts its own livekit-server and agent worker on free ports, runs 1, 5 and 10 callers at once
(override with `python -m bench.voice_bench 1 3`), and prints and writes a table: voice-to-voice
latency p50/p95 per turn, failed turns, completed sessions, worker CPU and memory. The table goes to
docs/benchmark.md with the machine it ran on.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.common import machine, percentile
from harness.personas import PERSONAS
from harness.simcaller import CallScript, SimCaller
from harness.testbed import stack_settings, start_livekit, start_worker
from onboarding.settings import REPO_ROOT, Settings

OUT = REPO_ROOT / "docs" / "benchmark.md"


@dataclass
class Row:
    callers: int
    p50_ms: float
    p95_ms: float
    turns: int
    failed_turns: int
    completed: int
    cpu_percent: float
    rss_peak_mb: float
    rss_per_session_mb: float


class ProcessSampler:
    """Samples CPU time and RSS of the worker and its children while a round runs."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss = 0
        self._stop = threading.Event()

    def _tree(self) -> list[psutil.Process]:
        return [self.root, *self.root.children(recursive=True)]

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def rss(self) -> int:
        total = 0
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak_rss = max(self.peak_rss, self.rss())

    def __enter__(self) -> ProcessSampler:
        self.peak_rss = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def run_round(settings: Settings, callers: int) -> tuple[list, list[BaseException]]:
    personas = [PERSONAS[i % len(PERSONAS)] for i in range(callers)]
    scripts = [CallScript(answer_book=p.answer_book, expected=p.expected, timeout=400) for p in personas]
    results = await asyncio.gather(*(SimCaller(settings, s).run() for s in scripts), return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    return ok, [r for r in results if isinstance(r, BaseException)]


def measure(settings: Settings, worker_pid: int, callers: int) -> Row:
    sampler = ProcessSampler(worker_pid)
    baseline = sampler.rss()
    cpu0, t0 = sampler.cpu_seconds(), time.monotonic()
    with sampler:
        results, errors = asyncio.run(run_round(settings, callers))
    cpu = (sampler.cpu_seconds() - cpu0) / (time.monotonic() - t0) * 100
    latencies = [x * 1000 for r in results for x in r.latencies]
    spoken = sum(r.answers_spoken for r in results)
    failed = spoken - len(latencies) + len(errors)  # an answer with no reply, or a call that broke off
    return Row(callers, statistics.median(latencies) if latencies else float("nan"), percentile(latencies, 0.95),
               len(latencies), failed, sum(r.completed for r in results), cpu, sampler.peak_rss / 2**20,
               (sampler.peak_rss - baseline) / 2**20 / callers)


def table(rows: list[Row]) -> str:
    head = ("| callers | v2v p50 ms | v2v p95 ms | turns | failed turns | sessions completed | worker CPU % "
            "| worker RSS peak MB | RSS per session MB |\n|---|---|---|---|---|---|---|---|---|")
    body = "\n".join(
        f"| {r.callers} | {r.p50_ms:.0f} | {r.p95_ms:.0f} | {r.turns} | {r.failed_turns} | {r.completed}/{r.callers} "
        f"| {r.cpu_percent:.0f} | {r.rss_peak_mb:.0f} | {r.rss_per_session_mb:.1f} |" for r in rows)
    return f"{head}\n{body}"


def main(argv: list[str]) -> None:
    counts = [int(a) for a in argv] or [1, 5, 10]
    logs = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    lk, base = start_livekit(Settings(_env_file=None), logs / "livekit-server.log")
    settings = stack_settings(base, f"sqlite:///{logs / 'bench.db'}", "onboarding-bench")
    settings = settings.model_copy(update={"max_jobs_per_worker": max(counts) + 2})
    worker = start_worker(settings, logs / "agent-worker.log")
    rows = []
    try:
        for n in counts:
            rows.append(measure(settings, worker.proc.pid, n))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    finally:
        worker.stop()
        lk.stop()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = (f"# Voice benchmark\n\nRun {stamp} on: {machine()}.\n\n"
              "Local providers (Silero VAD + v1-mini end of turn, Whisper tiny.en int8, scripted interviewer, "
              "Piper joe), real livekit-server v1.13.5, one agent worker (thread executor), simulated callers "
              "speaking flite audio over WebRTC. Voice-to-voice = end of the caller's speech (last frame sent) → "
              "first agent audio frame received.\n\n" + table(rows) + "\n")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(report)
    print(report)
    print(f"written to {OUT.relative_to(REPO_ROOT)}; logs in {logs}")


if __name__ == "__main__":
    main(sys.argv[1:])
