"""Child processes with logs and readiness polling: used by `make run`, the tests and the benchmark."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ManagedProcess:
    """A child in its own process group, its output in a log file (or our terminal)."""

    def __init__(self, name: str, cmd: list[str], *, env: dict[str, str] | None = None,
                 log_path: Path | None = None, cwd: Path | None = None) -> None:
        self.name, self.cmd, self.log_path = name, cmd, log_path
        out = open(log_path, "ab") if log_path else None  # noqa: SIM115  (closed in stop())
        self._log_start = out.tell() if out else 0  # this run's output only: the file may hold older runs
        self._out = out
        self.proc = subprocess.Popen(
            cmd, env={**os.environ, **(env or {})}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_start)
            text = log.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, url: str, timeout: float = 60.0) -> None:
        """Poll an HTTP URL until it answers 2xx, with a deadline; fail with the log attached."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) before ready:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if 200 <= response.status < 300:
                        return
            except OSError:
                pass
            time.sleep(0.1)  # polling interval, not synchronisation: the loop waits on the URL
        raise TimeoutError(f"{self.name} not ready at {url} after {timeout:.0f}s:\n{self.log_tail()}")

    def wait_for_output(self, needle: str, timeout: float) -> None:
        """Readiness by the process's own words, e.g. the worker's 'registered worker'."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_tail(400):
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            time.sleep(0.1)  # poll interval
        raise TimeoutError(f"{self.name}: no '{needle}' after {timeout:.0f}s:\n{self.log_tail()}")

    def _dump_stacks(self) -> None:
        """A process that ignored SIGTERM is stuck: the agent worker writes its threads' stacks on SIGUSR1."""
        if self.name != "agent-worker":
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGUSR1)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(2.0)  # time to write the dump; a stuck process does not exit from it

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the process (as Kubernetes and `docker stop` signal PID 1: it stops its own children, an agent
        worker its job processes after their last writes), then SIGKILL the group after the timeout."""
        if self.alive():
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout)
                with contextlib.suppress(ProcessLookupError):  # whatever of its group outlived it
                    os.killpg(self.proc.pid, signal.SIGKILL)
            except subprocess.TimeoutExpired:
                self._dump_stacks()
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        if self._out:
            self._out.close()
        return self.proc.returncode
