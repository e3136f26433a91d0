"""An aiohttp application on a free 127.0.0.1 port, served from a background thread with its own loop."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from onboarding.ops.processes import free_port

# What a fake does instead of its normal answer:
#   "http500" / "http429" refuse the WebSocket handshake with that status (429 carries Retry-After),
#   "drop" accepts and then closes the socket mid-stream (after `drop_after` results), as a crashed backend does.
Fault = Literal["none", "http500", "http429", "drop"]


@dataclass
class Latency:
    """Fixed service times in seconds, so tests and benchmarks can subtract them."""

    connect: float = 0.0  # before the handshake is answered
    first_result: float = 0.0  # from the end of the input to the first result (a floor: real work may take longer)


@dataclass
class FaultPlan:
    mode: Fault = "none"
    drop_after: int = 0  # results sent before a "drop" closes the socket


@dataclass
class Served:
    """What a fake delivered, per API key: the figures metering must match."""

    connections: int = 0
    rejected: int = 0
    seconds_connected: float = 0.0
    audio_seconds_in: float = 0.0
    characters_in: int = 0
    contexts: int = 0  # TTS requests (ElevenLabs contexts) that carried text
    audio_seconds_out: float = 0.0
    texts: list[str] = field(default_factory=list)


class FakeServer:
    """Subclasses build `self.app` (routes) in `__init__` before `start()`."""

    name = "fake"

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.app = web.Application()
        self.port = free_port()
        self.latency = Latency()
        self.fault = FaultPlan()
        self.served = Served()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopped = threading.Event()
        self._open = 0
        self._idle = threading.Condition()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Back to normal service between tests."""
        self.fault = FaultPlan()
        self.latency = Latency()
        self.served = Served()

    def start(self) -> FakeServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._runner = web.AppRunner(self.app, handle_signals=False)
                loop.run_until_complete(self._runner.setup())
                loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            except BaseException as exc:  # report bind errors to start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()
            self._stopped.set()

        self._thread = threading.Thread(target=serve, name=f"{self.name}-fake", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise RuntimeError(f"{self.name} fake could not start on port {self.port}") from errors[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(15)

    def connection_opened(self) -> None:
        with self._idle:
            self._open += 1
            self.served.connections += 1

    def connection_closed(self, seconds: float) -> None:
        with self._idle:
            self._open -= 1
            self.served.seconds_connected += seconds
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until every connection has closed (its figures are final), with a deadline."""
        with self._idle:
            return self._idle.wait_for(lambda: self._open == 0, timeout)

    def refusal(self) -> web.Response | None:
        """The handshake answer for a configured HTTP fault, or None to serve normally."""
        if self.fault.mode == "http500":
            return web.json_response({"err_code": "INTERNAL", "err_msg": "fake: internal error"}, status=500)
        if self.fault.mode == "http429":
            return web.json_response({"err_code": "TOO_MANY_REQUESTS", "err_msg": "fake: rate limited"},
                                     status=429, headers={"Retry-After": "60"})
        return None
