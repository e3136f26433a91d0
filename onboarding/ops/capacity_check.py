"""doctor's capacity line: what `make bench` measured a worker carries, against MAX_JOBS_PER_WORKER and the plan.

`make bench` writes docs/capacity.json: cloud-speech calls per core (the largest round that met the latency aims
on one pinned core) and offline calls per worker (its cores). A MAX_JOBS_PER_WORKER above what this machine's
cores carry means callers past that number all slow down; on LiveKit Cloud the plan's concurrency cap is set
beside it (how many such workers fill it). The workers' own rows (onboarding/capacity.py) say what runs now.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from onboarding.capacity import live_workers
from onboarding.ops.checks import Check
from onboarding.settings import REPO_ROOT, Settings
from onboarding.usage.pricing import PricingError, load_pricing

CASE = "Multiple users can't connect"


@dataclass(frozen=True)
class Measured:
    per_worker: int  # calls one worker on this machine carries within the aims
    how: str  # where the figure comes from, for the line


def measured_capacity(settings: Settings, path: Path | None = None, cores: int | None = None) -> Measured | None:
    """The benchmark's figure for this configuration, scaled to this machine's cores; None if never measured."""
    try:
        data = json.loads((path or settings.capacity_path).read_text())
    except (OSError, ValueError):
        return None
    cores = cores or os.cpu_count() or 1
    cloud = bool(settings.deepgram_api_key and settings.eleven_api_key)
    if cloud and data.get("cloud", {}).get("calls_per_core"):
        per_core = int(data["cloud"]["calls_per_core"])
        return Measured(per_core * cores, f"{per_core} cloud-speech calls per core measured × {cores} cores"
                        + _apart(data["cloud"].get("calls_per_core_arriving_apart"), per_core, "per core"))
    offline = data.get("offline", {})
    if not cloud and offline.get("calls_per_worker"):
        bench_cores = int(offline.get("cores") or cores)
        per_worker = max(1, math.floor(int(offline["calls_per_worker"]) * cores / bench_cores))
        return Measured(per_worker, f"{offline['calls_per_worker']} local-speech calls measured on {bench_cores} "
                                    f"cores, scaled to {cores}"
                        + _apart(offline.get("calls_per_worker_arriving_apart"), int(offline["calls_per_worker"]),
                                 f"on {bench_cores} cores"))
    return None


def _apart(apart: int | None, together: int, per: str) -> str:
    """The benchmark's figure for callers arriving apart, when more than for callers dialling in the same instant
    (the figure used: their answers then fall together all call long, the worst case)."""
    return f"; {apart} {per} when callers arrive a few seconds apart" if apart and apart > together else ""


def _plan_sentence(settings: Settings, per_worker: int) -> str:
    host = urlparse(settings.livekit_url).hostname or ""
    if not host.endswith(".livekit.cloud"):
        return "no plan cap (self-hosted LiveKit)"
    try:
        plans = load_pricing(settings.pricing_path).cloud_plans
    except PricingError:
        return "plan caps unknown (PRICING_PATH unreadable)"
    return "plan caps: " + ", ".join(f"{p.name} {p.max_concurrent} = {math.ceil(p.max_concurrent / per_worker)} "
                                     f"worker(s)" for _, p in plans)


def capacity_check(settings: Settings, path: Path | None = None, cores: int | None = None) -> Check:
    path = path or settings.capacity_path
    jobs = settings.max_jobs_per_worker
    try:
        workers = live_workers(settings.database_url, settings.agent_name)
        running = (f"{len(workers)} worker(s) report {sum(w.active_jobs for w in workers)} of "
                   f"{sum(w.max_jobs for w in workers)} call slots in use")
    except Exception as exc:
        running = f"workers' capacity unreadable ({type(exc).__name__})"
    measured = measured_capacity(settings, path, cores)
    if measured is None:
        return Check("warn", "capacity", f"MAX_JOBS_PER_WORKER={jobs}; no measured capacity for this configuration "
                     f"({path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}); {running}",
                     "run `make bench` on this machine to measure how many calls a worker carries", CASE)
    what = (f"MAX_JOBS_PER_WORKER={jobs}, measured {measured.per_worker} per worker ({measured.how}); "
            f"{_plan_sentence(settings, min(jobs, measured.per_worker))}; {running}")
    if jobs > measured.per_worker:
        return Check("warn", "capacity", what, f"calls past {measured.per_worker} on one worker all slow down: set "
                     f"MAX_JOBS_PER_WORKER={measured.per_worker} and add workers", CASE)
    return Check("ok", "capacity", what, case=CASE)
