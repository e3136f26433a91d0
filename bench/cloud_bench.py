"""`make bench` cloud-fakes mode: how many concurrent calls one worker carries with cloud speech.

    python -m bench.cloud_bench [--gemini] [--process] [N ...]      (default 1 5 10 20 30 40 50)

The worker talks to local fakes of Deepgram and ElevenLabs (and Gemini with `--gemini`, when the fake is
there) that answer after fixed service times. Deepgram's fake uses "script ears": each simulated caller
announces what it is about to say and the stream tagged with its room hears exactly that, so no speech
model runs outside the worker and the fakes' CPU stays out of the figures. For each round it reports
voice-to-voice p50/p95, the worker's own overhead per turn (voice-to-voice minus the fakes' service time),
failed turns, worker CPU and memory per session, and the largest N with p95 ≤ 1.2 s and no failed turn.
Results go to docs/cloud-benchmark.md with the machine they ran on.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine, percentile
from bench.voice_bench import ProcessSampler, Row
from harness.fakes.deepgram import FakeDeepgram
from harness.fakes.elevenlabs import FakeElevenLabs
from harness.fakes.gemini import FakeGemini
from harness.fakes.server import Latency
from harness.fakes.settings import DEEPGRAM_KEY, ELEVEN_KEY, GOOGLE_KEY, cloud_env, cloud_settings
from harness.personas import PERSONAS
from harness.simcaller import CallScript, SimCaller
from harness.testbed import stack_settings, start_livekit, start_worker
from onboarding.settings import REPO_ROOT, Settings

OUT = REPO_ROOT / "docs" / "cloud-benchmark.md"
P95_GOAL_MS = 1200.0
# Fixed service times: Deepgram's final after the endpoint, ElevenLabs' first audio (its flash model's
# published ~75 ms plus a network round trip), Gemini Flash's first token.
DEEPGRAM_LATENCY = Latency(connect=0.05, first_result=0.15)
ELEVENLABS_LATENCY = Latency(connect=0.05, first_result=0.15)
GEMINI_LATENCY = Latency(connect=0.05, first_result=0.35)


def fake_service_ms(gemini: bool) -> float:
    return 1000 * (DEEPGRAM_LATENCY.first_result + ELEVENLABS_LATENCY.first_result
                   + (GEMINI_LATENCY.first_result if gemini else 0.0))


async def run_round(settings: Settings, deepgram: FakeDeepgram, callers: int,
                    gemini: bool) -> tuple[list, list[BaseException]]:
    personas = [PERSONAS[i % len(PERSONAS)] for i in range(callers)]
    # Gemini reads back in speech, not through the `onboarding.confirming` attribute a reactive caller follows:
    # with it, callers say their answers in order ("Yes." after each read-back)
    scripts = [CallScript(answers=p.answers, timeout=400, on_answer=deepgram.expect) if gemini else
               CallScript(answer_book=p.answer_book, expected=p.expected, timeout=400, on_answer=deepgram.expect)
               for p in personas]
    results = await asyncio.gather(*(SimCaller(settings, s).run() for s in scripts), return_exceptions=True)
    return ([r for r in results if not isinstance(r, BaseException)],
            [r for r in results if isinstance(r, BaseException)])


def measure(settings: Settings, deepgram: FakeDeepgram, worker_pid: int, callers: int, gemini: bool) -> Row:
    sampler = ProcessSampler(worker_pid)
    baseline = sampler.rss()
    cpu0, t0 = sampler.cpu_seconds(), time.monotonic()
    with sampler:
        results, errors = asyncio.run(run_round(settings, deepgram, callers, gemini))
    cpu = (sampler.cpu_seconds() - cpu0) / (time.monotonic() - t0) * 100
    latencies = [x * 1000 for r in results for x in r.latencies]
    failed = sum(r.answers_spoken for r in results) - len(latencies) + len(errors)
    return Row(callers, statistics.median(latencies) if latencies else float("nan"), percentile(latencies, 0.95),
               len(latencies), failed, sum(r.completed for r in results), cpu, sampler.peak_rss / 2**20,
               (sampler.peak_rss - baseline) / 2**20 / callers)


def table(rows: list[Row], service_ms: float) -> str:
    head = ("| callers | v2v p50 ms | v2v p95 ms | worker overhead p50 ms | turns | failed turns | completed "
            "| worker CPU % | CPU per session % | worker RSS peak MB | RSS per session MB |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    body = "\n".join(
        f"| {r.callers} | {r.p50_ms:.0f} | {r.p95_ms:.0f} | {r.p50_ms - service_ms:.0f} | {r.turns} "
        f"| {r.failed_turns} | {r.completed}/{r.callers} | {r.cpu_percent:.0f} | {r.cpu_percent / r.callers:.1f} "
        f"| {r.rss_peak_mb:.0f} | {r.rss_per_session_mb:.1f} |" for r in rows)
    return f"{head}\n{body}"


def largest_within_goal(rows: list[Row]) -> int:
    good = [r.callers for r in rows if r.p95_ms <= P95_GOAL_MS and r.failed_turns == 0 and r.completed == r.callers]
    return max(good, default=0)


def start_fakes(gemini: bool):
    deepgram = FakeDeepgram(DEEPGRAM_KEY, ears="script").start()
    deepgram.latency = DEEPGRAM_LATENCY
    eleven = FakeElevenLabs(ELEVEN_KEY, engine="flite").start()
    eleven.latency = ELEVENLABS_LATENCY
    llm = None
    if gemini:
        llm = FakeGemini(GOOGLE_KEY).start()
        llm.latency = GEMINI_LATENCY
    return deepgram, eleven, llm


def main(argv: list[str]) -> None:
    gemini = "--gemini" in argv
    executor = "process" if "--process" in argv else "thread"  # one process per call: both cores, no shared GIL
    out = OUT.with_name(f"cloud-benchmark-{executor}.md") if executor == "process" else OUT
    counts = [int(a) for a in argv if a.isdigit()] or [1, 5, 10, 20, 30, 40, 50]
    logs = Path(tempfile.mkdtemp(prefix="cloud-bench-"))
    lk, base = start_livekit(Settings(_env_file=None), logs / "livekit-server.log")
    settings = stack_settings(base, f"sqlite:///{logs / 'bench.db'}", "onboarding-cloud-bench")
    settings = settings.model_copy(update={"max_jobs_per_worker": max(counts) + 2})
    deepgram, eleven, llm = start_fakes(gemini)
    fakes = [f for f in (deepgram, eleven, llm) if f is not None]
    env = cloud_env(cloud_settings(settings, deepgram, eleven, llm))
    worker = start_worker(settings, logs / "agent-worker.log", TTS_ENGINE="flite", JOB_EXECUTOR=executor,
                          MAX_JOBS_PER_WORKER=str(max(counts) + 2), **env)
    rows: list[Row] = []
    service = fake_service_ms(gemini)
    try:
        for n in counts:
            rows.append(measure(settings, deepgram, worker.proc.pid, n, gemini))
            print(table(rows[-1:], service).splitlines()[-1], flush=True)
            if rows[-1].p95_ms > 2 * P95_GOAL_MS:
                break  # far past the goal: larger rounds only measure a queue
    finally:
        worker.stop()
        for fake in fakes:
            fake.stop()
        lk.stop()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    llm = "Gemini fake" if gemini else "scripted interviewer"
    report = (
        f"# Cloud-fakes benchmark\n\nRun {stamp} on: {machine()}.\n\n"
        f"One agent worker ({executor} executor) with Deepgram STT and ElevenLabs TTS served by local fakes, {llm}, "
        "Silero VAD + v1-mini end of turn in the worker, real livekit-server v1.13.5, simulated callers speaking "
        "over WebRTC (`python -m bench.cloud_bench`). Fixed fake service times: Deepgram final "
        f"{DEEPGRAM_LATENCY.first_result * 1000:.0f} ms, ElevenLabs first audio "
        f"{ELEVENLABS_LATENCY.first_result * 1000:.0f} ms"
        + (f", Gemini first token {GEMINI_LATENCY.first_result * 1000:.0f} ms" if gemini else "")
        + f" (total {service:.0f} ms per turn). Worker overhead = voice-to-voice − that service time; it "
        "includes end-of-turn detection (VAD silence + the v1-mini model's delay).\n\n"
        + table(rows, service)
        + f"\n\nLargest N with p95 ≤ {P95_GOAL_MS:.0f} ms, no failed turn and every call completed: "
        f"**{largest_within_goal(rows)}**.\n"
    )
    out.write_text(report)
    print(report)
    print(f"written to {out.relative_to(REPO_ROOT)}; logs in {logs}")


if __name__ == "__main__":
    main(sys.argv[1:])
