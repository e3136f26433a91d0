"""What the worker benchmarks share: rounds of simulated callers, and figures of the worker alone.

The load generator must not be measured: callers replay answers rendered before the run (no synthesis while it
runs), the cloud fakes hear by script and speak pre-rendered audio, and (cloud mode) the worker runs pinned to its
own core with `taskset` while this process, livekit-server and the fakes share the other. Worker CPU is the
CPU-seconds of every process of the worker's tree — main process, forkserver, inference process, job processes,
and job processes that already exited (a parent's reaped children count in its `children_*` times) — per
session-second. Memory is USS and PSS (`memory_full_info()`): summed RSS counts shared pages many times.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
from sqlalchemy import DateTime, bindparam, create_engine, text

from bench.common import percentile
from harness.personas import PERSONAS, Persona
from harness.simcaller import CallResult, CallScript, SimCaller
from onboarding.settings import REPO_ROOT, Settings

CAPACITY_JSON = REPO_ROOT / "docs" / "capacity.json"
CALL_TIMEOUT = 400.0
# Callers arriving 3 s apart: a line of real callers, whose answers fall at different moments. Dialling in the same
# instant, simulated callers hear the same cached questions and answer nearly together all call long: the worst
# case for shared cores, and the one the rounds ran alone until 2026-12-06.
ARRIVE_EVERY_S = 3.0


def arrivals(callers: int, arrive_every: float) -> list[float]:
    """The spacings a round of `callers` runs with: together, then `arrive_every` apart (one caller: together)."""
    return list(dict.fromkeys([0.0, arrive_every] if callers > 1 else [0.0]))


def caller_answers(personas: list[Persona]) -> list[str]:
    """Everything a reactive caller may say: each persona's answers, and the yes/no/skip of read-backs."""
    return [a for p in personas for a in p.answer_book.values()] + ["Yes.", "No.", "Skip."]


def tree(root: psutil.Process) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return [root, *root.children(recursive=True)]
    return []


def cpu_seconds(root: psutil.Process) -> float:
    """User + system time of the whole tree, exited (reaped) descendants included."""
    total = 0.0
    for proc in tree(root):
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def memory(root: psutil.Process) -> tuple[int, int, int]:
    """(Σ USS, Σ PSS, number of processes) of the tree: private memory and a fair share of the shared."""
    uss = pss = count = 0
    for proc in tree(root):
        with contextlib.suppress(psutil.Error):
            info = proc.memory_full_info()
            uss, pss, count = uss + info.uss, pss + info.pss, count + 1
    return uss, pss, count


class MemorySampler:
    """Peak USS and PSS of the worker's tree while a round runs (sampled once a second, on the harness core)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_uss = self.peak_pss = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            uss, pss, _ = memory(self.root)
            self.peak_uss, self.peak_pss = max(self.peak_uss, uss), max(self.peak_pss, pss)

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Row:
    callers: int
    latencies_ms: list[float]
    failed_turns: int
    completed: int
    session_seconds: float
    cpu_seconds: float
    idle_uss_mb: float
    idle_pss_mb: float
    peak_uss_mb: float
    peak_pss_mb: float
    wall_seconds: float
    unanswered: list[str] = field(default_factory=list)  # answers with no reply, and calls that broke off
    stages_ms: dict[str, float] = field(default_factory=dict)  # median of each stage livekit reports, stored turns
    arrive_every: float = 0.0  # s between one caller's arrival and the next's (0: together)

    @property
    def label(self) -> str:
        """The round's callers as the tables show them: "5", or "5, arriving 3 s apart"."""
        if self.callers == 1 or not self.arrive_every:
            return str(self.callers)
        return f"{self.callers}, arriving {self.arrive_every:g} s apart"

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p95_ms(self) -> float:
        return percentile(self.latencies_ms, 0.95)

    @property
    def cpu_per_session(self) -> float:
        """Percent of one core per session: worker CPU-seconds per session-second."""
        return 100 * self.cpu_seconds / self.session_seconds if self.session_seconds else float("nan")

    @property
    def uss_per_session_mb(self) -> float:
        return (self.peak_uss_mb - self.idle_uss_mb) / self.callers

    @property
    def pss_per_session_mb(self) -> float:
        return (self.peak_pss_mb - self.idle_pss_mb) / self.callers

    def meets(self, p95_ms: float) -> bool:
        return self.p95_ms <= p95_ms and self.failed_turns == 0 and self.completed == self.callers


async def _calls(settings: Settings, scripts: list[CallScript], arrive_every: float = 0.0
                 ) -> tuple[list[CallResult], list[BaseException], list[float]]:
    """The callers' whole calls; caller i dials `i * arrive_every` s after the first (0: all at once)."""
    durations: list[float] = []

    async def one(index: int, script: CallScript) -> CallResult:
        await asyncio.sleep(index * arrive_every)  # the arrival schedule, not a wait for an event
        started = time.monotonic()
        try:
            return await SimCaller(settings, script).run()
        finally:
            durations.append(time.monotonic() - started)

    results = await asyncio.gather(*(one(i, s) for i, s in enumerate(scripts)), return_exceptions=True)
    return ([r for r in results if not isinstance(r, BaseException)],
            [r for r in results if isinstance(r, BaseException)], durations)


def run_round(settings: Settings, worker_pid: int, callers: int, audio: Mapping[str, np.ndarray],
              on_answer: Callable[[str, str], None] | None = None, arrive_every: float = 0.0,
              idle: tuple[int, int] | None = None) -> Row:
    """`callers` reactive callers, each through a whole onboarding; the worker measured around them.

    With `arrive_every` 0 they dial in the same instant and, hearing the same cached questions, answer nearly
    together all call long: the worst case for a shared Whisper. Spaced arrivals are what a line of real callers
    does; the benchmark reports both. `idle`: the worker's (USS, PSS) before its first round, so that a round's
    memory per session is never measured from a floor the round before left raised (its job processes still
    exiting); by default, the tree as this round starts."""
    personas = [PERSONAS[i % len(PERSONAS)] for i in range(callers)]
    scripts = [CallScript(answer_book=p.answer_book, expected=p.expected, timeout=CALL_TIMEOUT, audio=audio,
                          on_answer=on_answer) for p in personas]
    root = psutil.Process(worker_pid)
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    idle_uss, idle_pss = idle or memory(root)[:2]
    cpu0, t0 = cpu_seconds(root), time.monotonic()
    with MemorySampler(worker_pid) as sampler:
        results, errors, durations = asyncio.run(_calls(settings, scripts, arrive_every))
    cpu, wall = cpu_seconds(root) - cpu0, time.monotonic() - t0
    latencies = [x * 1000 for r in results for x in r.latencies]
    failed = sum(r.answers_spoken for r in results) - len(latencies) + len(errors)
    mb = 2 ** 20
    unanswered = [a for r in results for a in r.unanswered] + [f"{type(e).__name__}: {e}" for e in errors]
    return Row(callers, latencies, failed, sum(r.completed for r in results), sum(durations), cpu,
               idle_uss / mb, idle_pss / mb, max(sampler.peak_uss, idle_uss) / mb, max(sampler.peak_pss, idle_pss) / mb,
               wall, unanswered, stage_medians(settings.database_url, since), arrive_every)


# livekit-agents' own per-turn figures, stored with each turn: a reply's time, stage by stage
STAGES = {"end of turn": ("user", "end_of_turn_delay"), "STT final": ("user", "transcription_delay"),
          "interviewer first token": ("agent", "llm_ttft"), "TTS first audio": ("agent", "tts_ttfb"),
          "worker e2e": ("agent", "e2e_latency")}


def stage_medians(database_url: str, since: dt.datetime) -> dict[str, float]:
    """Median ms of each stage over the turns the round stored (after `since`, naive UTC as stored)."""
    engine = create_engine(database_url)
    medians = {}
    try:
        with engine.connect() as conn:
            for label, (role, column) in STAGES.items():
                query = text(f"SELECT {column} FROM turn WHERE role = :role AND {column} IS NOT NULL "
                             "AND created_at >= :since").bindparams(bindparam("since", type_=DateTime))
                rows = conn.execute(query, {"role": role, "since": since}).all()
                if rows:
                    medians[label] = 1000 * statistics.median(r[0] for r in rows)
    finally:
        engine.dispose()
    return medians


def stages_table(rows: list[Row]) -> str:
    """Where a reply's time goes, per round: the median of each stage livekit-agents reports for the turns."""
    head = "| callers | " + " | ".join(f"{label} ms" for label in STAGES) + " |\n|---|" + "---|" * len(STAGES)
    body = "\n".join(f"| {r.label} | " + " | ".join(
        f"{r.stages_ms[label]:.0f}" if label in r.stages_ms else "—" for label in STAGES) + " |" for r in rows)
    return f"{head}\n{body}"


def table(rows: list[Row]) -> str:
    head = ("| callers | v2v p50 ms | v2v p95 ms | turns | failed turns | completed | worker CPU % of a core per "
            "session | USS per session MB | PSS per session MB | worker PSS idle → peak MB | round s |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    body = "\n".join(
        f"| {r.label} | {r.p50_ms:.0f} | {r.p95_ms:.0f} | {len(r.latencies_ms)} | {r.failed_turns} "
        f"| {r.completed}/{r.callers} | {r.cpu_per_session:.1f} | {r.uss_per_session_mb:.1f} "
        f"| {r.pss_per_session_mb:.1f} | {r.idle_pss_mb:.0f} → {r.peak_pss_mb:.0f} | {r.wall_seconds:.0f} |"
        for r in rows)
    return f"{head}\n{body}"


def who(row: Row, noun: str = "caller") -> str:
    """A round's callers in words: "1 caller", "5 callers at once", "5 callers arriving 3 s apart"."""
    if row.callers == 1:
        return f"1 {noun}"
    return f"{row.callers} {noun}s " + (f"arriving {row.arrive_every:g} s apart" if row.arrive_every else "at once")


def failures(rows: list[Row]) -> str:
    """What the failed turns were: the answers left unanswered (a call that broke off counts its error)."""
    lines = [f"- {r.label} (callers): " + "; ".join(dict.fromkeys(r.unanswered)) for r in rows if r.unanswered]
    return ("\n\nFailed turns, by round:\n" + "\n".join(lines)) if lines else ""


def update_capacity(section: str, figures: dict) -> None:
    """docs/capacity.json, which doctor reads: one section per mode, each with the machine it was measured on."""
    try:
        data = json.loads(CAPACITY_JSON.read_text())
    except (OSError, ValueError):
        data = {}
    data[section] = figures
    CAPACITY_JSON.write_text(json.dumps(data, indent=2) + "\n")


def pin_harness(cpus: set[int]) -> None:
    """This process and everything it starts from now on (livekit-server) run on `cpus`."""
    with contextlib.suppress(AttributeError, OSError):
        import os

        os.sched_setaffinity(0, cpus)


def logs_dir(prefix: str) -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix=prefix))
