"""Agent worker entry point: registers with LiveKit and runs one onboarding interview per room.

    python agent_worker.py          (what `make run` starts)
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import signal
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may fetch weights from a hub at run time
if __name__ == "__main__" and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # calls run in job processes (JOB_EXECUTOR=process, the default): they write their metrics into a directory
    # of this worker's own, which the worker's /metrics sums; set before prometheus_client is imported
    from onboarding.settings import get_settings as _settings

    if _settings().job_executor == "process" and _settings().worker_metrics_port:
        import atexit
        import shutil
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="onboarding-worker-metrics-")
        atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], True)

from onboarding.multiproc import own_multiprocess_dir

# before the first metric is made: livekit-agents empties the folder it is given, so metrics get one of their own
os.environ.update(own_multiprocess_dir(os.environ))

from livekit.agents import Agent, AgentServer, JobContext, JobExecutorType, JobProcess

from onboarding import storage
from onboarding.capacity import ShownCalls, WorkerLoad, report_forever, this_host
from onboarding.interview import load_definition
from onboarding.livekit_admin import server_reachable
from onboarding.logging_setup import setup_logging
from onboarding.metrics import serve_worker_metrics
from onboarding.native_logs import NATIVE_LOG_LEVEL
from onboarding.providers.key_check import check_or_exit
from onboarding.providers.local_inference import register_runners
from onboarding.secret_checks import startup_refusals
from onboarding.settings import get_settings

log = logging.getLogger("onboarding.worker")
# Everything a job imports: the call and what it imports (providers, plugins, interview, recorder, database layer).
PRELOAD_MODULES = ["onboarding.call", "onboarding.capacity", "onboarding.interview", "onboarding.livekit_admin",
                   "onboarding.logging_setup", "onboarding.metrics", "onboarding.native_logs",
                   "onboarding.providers.selection", "onboarding.providers.local_inference",
                   "onboarding.providers.speculative_stt",
                   "onboarding.recorder", "onboarding.storage", "onboarding.turn_taking", "models"]
settings = get_settings()
definition = load_definition(settings.interview_path)  # a bad file stops start-up with line and reason


class OnboardingAgent(Agent):
    """The interviewer speaks first; what it says comes from the interview definition."""

    def __init__(self) -> None:
        super().__init__(instructions="Run the spoken onboarding interview defined in data/interview.toml.")

    async def on_enter(self) -> None:
        self.session.generate_reply()


def prewarm(proc: JobProcess) -> None:
    """A job process loads no model: it inherits this module, the VAD and the end-of-turn weights from the
    forkserver (shared copy-on-write), and reaches Whisper and Piper in the worker's inference process."""
    setup_logging(settings.log_level)


# livekit-server's agents.target_load: it routes a job only to a node whose workers report less than this,
# so a worker with room must stay below it, or calls stop at 70 % of MAX_JOBS_PER_WORKER.
SERVER_TARGET_LOAD = 0.7


def load_of(calls: int) -> float:
    """1.0 (full: above WORKER_LOAD_THRESHOLD) once MAX_JOBS_PER_WORKER calls run here, so LiveKit sends the
    next call to another worker; below the server's target load while there is room for one more."""
    if calls >= settings.max_jobs_per_worker:
        return 1.0
    return SERVER_TARGET_LOAD * calls / settings.max_jobs_per_worker


def job_load(server: AgentServer) -> float:
    return load_of(len(server.active_jobs))


class OnboardingServer(AgentServer):
    """livekit-agents 1.8.9 prices a call it has accepted but not yet started at the whole load threshold while no
    call runs (threshold / num_idle_processes): a second caller arriving within milliseconds of the first at an idle
    worker was refused, and LiveKit left that room without an agent. Here an accepted call costs what a running
    one does."""

    def _get_effective_load(self) -> float:
        return load_of(len(self.active_jobs) + self._reserved_slots)


server = OnboardingServer(
    setup_fnc=prewarm,
    load_fnc=job_load,
    load_threshold=settings.worker_load_threshold,
    job_executor_type=JobExecutorType.THREAD if settings.job_executor == "thread" else JobExecutorType.PROCESS,
    num_idle_processes=1,
    # imported once in the forkserver, so every job process shares them copy-on-write instead of importing its own
    # copy ("__main__" would not do: Python 3.11's forkserver drops the main module's path before preloading)
    preload_modules=PRELOAD_MODULES,
    ws_url=settings.livekit_url,
    api_key=settings.livekit_api_key,
    api_secret=settings.livekit_api_secret,
    host=settings.worker_http_host,
    port=settings.worker_http_port,
)


@server.rtc_session(agent_name=settings.agent_name)
async def entrypoint(ctx: JobContext) -> None:
    # imported in the forkserver already (PRELOAD_MODULES): free here; the main process never needs them
    from onboarding.call import InterviewCall
    from onboarding.native_logs import keep_native_logs_native
    from onboarding.providers.selection import build_speech_stack

    keep_native_logs_native()  # ≈ 110 native log records a second per call no longer cross into Python
    stack = build_speech_stack(settings, inference_executor=ctx.inference_executor)
    await InterviewCall(ctx, settings, stack, definition, OnboardingAgent()).start()


shown_calls = ShownCalls()


def current_load() -> WorkerLoad | None:
    """What this worker can take, for the busy signal and the rooms page (None until LiveKit registered it)."""
    if server.id == "unregistered":
        return None
    return WorkerLoad(server.id, settings.agent_name, shown_calls(len(server.active_jobs)),
                      settings.max_jobs_per_worker, this_host(), settings.job_executor)


async def serve() -> int:
    problem = await server_reachable(settings)
    if problem:
        log.error(problem)
        return 2
    reaper = storage.start(settings)  # replays spools left by earlier runs, closes calls of dead workers
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    run = asyncio.create_task(server.run(devmode=False))
    reporting = asyncio.create_task(report_forever(settings.database_url, current_load))
    done, _ = await asyncio.wait({run, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
    reporting.cancel()
    await asyncio.gather(reporting, return_exceptions=True)
    if run in done and run.exception():
        log.error("worker stopped: %s", run.exception())
        await asyncio.to_thread(storage.stop, reaper)
        return 1
    log.info("shutting down worker")
    await server.aclose()
    await asyncio.to_thread(storage.stop, reaper)  # the calls' last writes: into the database, else the spool
    return 0


def main() -> None:
    setup_logging(settings.log_level)
    refusals = startup_refusals(settings, "worker")  # example secrets from this repository's templates
    if refusals:
        log.error("worker not started: %s", "; ".join(refusals))
        sys.exit(2)
    # a native crash leaves the Python stacks in the log, and `kill -USR1 <pid>` writes every thread's stack
    # there too: what a stuck worker is waiting on
    faulthandler.enable(all_threads=True)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # before any job process starts: they read it when their loop starts
    os.environ.setdefault("LIVEKIT_AGENTS_LOOP_BLOCK_WARN_MS", str(settings.loop_block_warn_ms))
    os.environ.setdefault("RUST_LOG", NATIVE_LOG_LEVEL)  # what livekit's native library writes itself (native_logs)
    check_or_exit(settings)  # once per worker, not per job process
    register_runners()  # one Whisper and one Piper for all calls: livekit-agents' inference process
    if settings.job_executor == "thread":  # jobs run here: their modules, VAD and end-of-turn weights load here
        import importlib

        from livekit.local_inference import init_eot, init_vad

        for module in PRELOAD_MODULES:  # on the main thread: plugins must register there
            importlib.import_module(module)
        init_vad()
        init_eot()
    serve_worker_metrics(settings)  # one port per worker process; thread jobs count into its registry
    sys.exit(asyncio.run(serve()))


if __name__ == "__main__":
    main()
