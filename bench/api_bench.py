"""`make bench` (REST part): push-to-talk turns under concurrent clients, and the token endpoint's throughput.

Starts the REST routes in a real uvicorn process on a free port (the router and error handlers exactly as
dashboard.py mounts them, without the Gradio pages, which these routes do not touch), with the rate limit
lifted and a fresh SQLite database. Each client runs a whole onboarding (start, one turn per answer,
complete) with flite-synthesised answers as 16 kHz WAV; the time of each turn request is measured from
the client. Writes docs/api-benchmark.md with the machine.

    python -m bench.api_bench [--clients 10] [--token-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from bench.common import machine, percentile
from harness.caller_audio import ROOM_RATE, encode_audio, resample, speak
from harness.personas import PERSONAS, Persona
from harness.testbed import rest_app
from onboarding.ops.processes import ManagedProcess, free_port
from onboarding.settings import REPO_ROOT, get_settings

OUT = REPO_ROOT / "docs" / "api-benchmark.md"
WORK = REPO_ROOT / ".cache" / "bench"
RATE = 16000


def create_app() -> FastAPI:
    """What uvicorn serves here: `uvicorn --factory bench.api_bench:create_app`."""
    return rest_app()


@dataclass
class TurnRound:
    clients: int
    latencies: list[float]  # seconds per turn request
    seconds: float
    completed: int
    correct: int
    misheard: list[str]  # "room: field stored 'x', expected 'y'"
    errors: list[str]

    @property
    def turns_per_second(self) -> float:
        return len(self.latencies) / self.seconds


def answer_files(persona: Persona) -> list[bytes]:
    return [encode_audio(resample(speak(a), ROOM_RATE, RATE), RATE, "wav")[0] for a in persona.answers]


async def onboarding(http: httpx.AsyncClient, room: str, persona: Persona, files: list[bytes],
                     latencies: list[float]) -> tuple[bool, dict[str, tuple]]:
    """One client's whole onboarding; returns (interview completed, {field: (stored, expected)} that differ)."""
    started = await http.post("/api/livekit/agent/start", json={"roomName": room})
    started.raise_for_status()
    auth = {"Authorization": f"Bearer {started.json()['sessionToken']}"}  # the session's credential
    completed = False
    for number, data in enumerate(files):
        t0 = time.perf_counter()
        # a key per answer, as a client should send: "Skip.", "Skip." is the same audio twice, a retry without one
        sent = await http.post("/api/livekit/agent/turn", data={"roomName": room},
                               files={"audio": ("answer.wav", data, "audio/wav")},
                               headers={**auth, "Idempotency-Key": f"{room}-{number}"})
        latencies.append(time.perf_counter() - t0)
        sent.raise_for_status()
        completed = sent.json()["completed"]
        if completed:
            break
    done = await http.post("/api/livekit/agent/complete", json={"roomName": room}, headers=auth)
    done.raise_for_status()
    profile = done.json()["profile"]
    return completed, {k: (profile.get(k), v) for k, v in persona.expected.items() if profile.get(k) != v}


async def turn_round(base_url: str, clients: int, files: dict[int, list[bytes]], tag: str) -> TurnRound:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as http:
        t0 = time.perf_counter()
        results = await asyncio.gather(*(
            onboarding(http, f"onboarding-bench-{tag}-{i}", PERSONAS[i % len(PERSONAS)], files[i % len(PERSONAS)],
                       latencies) for i in range(clients)), return_exceptions=True)
        seconds = time.perf_counter() - t0
    ok = [(i, r) for i, r in enumerate(results) if not isinstance(r, BaseException)]
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    misheard = [f"client {i} ({PERSONAS[i % len(PERSONAS)].expected['full_name']}): {field} stored {got!r}, "
                f"expected {want!r}" for i, (_, diff) in ok for field, (got, want) in diff.items()]
    return TurnRound(clients, latencies, seconds, sum(c for _, (c, _) in ok), sum(not d for _, (_, d) in ok),
                     misheard, errors)


async def token_rate(base_url: str, clients: int, seconds: float) -> tuple[float, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            sent = await http.post("/api/livekit/token", json={"participantName": "bench"})
            sent.raise_for_status()
            latencies.append(time.perf_counter() - t0)

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        return len(latencies) / (time.perf_counter() - t0), latencies


def start_server(db: Path, log: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    # one benchmark client stands for many callers: the per-client call cap is lifted with the rate limit (each
    # token still records its room grant, as in production)
    env = {"DATABASE_URL": f"sqlite:///{db}", "RATE_LIMIT_PER_MINUTE": "100000000", "RATE_LIMIT_BURST": "100000000",
           "MAX_CALLS_PER_CLIENT": "100000000",
           "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "bench.api_bench:create_app", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning", "--no-access-log"]
    proc = ManagedProcess("api", cmd, env=env, log_path=log, cwd=REPO_ROOT)
    proc.wait_ready(f"http://127.0.0.1:{port}/openapi.json", timeout=60)
    return proc, f"http://127.0.0.1:{port}"


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.0f}" if values else "–"


def report(rounds: list[TurnRound], token_rps: float, token_lat: list[float], token_clients: int) -> str:
    settings = get_settings()
    rows = "\n".join(
        f"| {r.clients} | {ms(r.latencies, 0.5)} | {ms(r.latencies, 0.95)} | {len(r.latencies)} "
        f"| {r.turns_per_second:.2f} | {r.completed}/{r.clients} | {r.correct}/{r.clients} | {len(r.errors)} |"
        for r in rounds)
    errors = "".join(f"\n- failed: {e}" for r in rounds for e in r.errors[:3])
    misheard = "".join(f"\n- {r.clients} clients, {m}" for r in rounds for m in r.misheard)
    if misheard:
        misheard = ("\n\nProfiles not as expected (the same persona's same words each time is the STT mishearing "
                    "that answer, not a mix-up between sessions):" + misheard)
    return f"""# REST API benchmark

Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on: {machine()}.

One uvicorn process serving the REST routes (`python -m bench.api_bench`); local providers (Whisper tiny.en int8,
beam {settings.stt_beam_size}; scripted interviewer; {settings.tts_engine} TTS), SQLite. Each client runs a whole
onboarding (start, a turn per answer, complete) with flite-spoken answers sent as 16 kHz WAV (≈1–2 s each);
turn time = the client's POST /api/livekit/agent/turn until the JSON reply (decode, STT, interview, database,
TTS of the whole reply, base64 WAV). Sessions run side by side; one room's turns run one at a time.

| clients | turn p50 ms | turn p95 ms | turns | turns/s | interviews completed | profiles as expected | failed |
|---|---|---|---|---|---|---|---|
{rows}

Token endpoint (`POST /api/livekit/token`), {token_clients} concurrent clients: **{token_rps:.0f} requests/s**,
p50 {ms(token_lat, 0.5)} ms, p95 {ms(token_lat, 0.95)} ms.

Reading it: the turn endpoint is CPU-bound (Whisper and the TTS share the cores), so turns/s stays about flat as
clients are added and each turn waits its share: on this machine a push-to-talk caller among ten waits the p50
above for each reply. More throughput needs more cores or processes (REST sessions live in one process: put
a sticky balancer in front).{misheard}{errors}
"""


async def run(clients: int, token_seconds: float) -> str:
    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / "api.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    files = {i: answer_files(p) for i, p in enumerate(PERSONAS)}
    proc, base_url = start_server(db, WORK / "api-bench.log")
    try:
        await turn_round(base_url, 1, files, "warmup")  # loads the models; not reported
        rounds = [await turn_round(base_url, 1, files, "one"), await turn_round(base_url, clients, files, "many")]
        token_rps, token_lat = await token_rate(base_url, clients, token_seconds)
    finally:
        proc.stop()
    return report(rounds, token_rps, token_lat, clients)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--token-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    text = asyncio.run(run(args.clients, args.token_seconds))
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
