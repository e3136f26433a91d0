"""A throwaway PostgreSQL server for tests and benchmarks: Debian's binaries, a temp dir, a free port, trust auth.

PostgreSQL refuses to run as root, so when we are root (CI containers) initdb and postgres run as the `postgres`
system user (subprocess drops privileges itself: no runuser/su wrapper between us and the postmaster, so signals
reach it directly) in a temp dir that user owns. Durability is switched off (fsync, full-page writes): the data
lives as long as the test run. Readiness is a connection that succeeds, polled with a deadline.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import psycopg

from onboarding.ops.processes import free_port

SUPERUSER = "postgres"
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}


def find_bin_dir() -> Path | None:
    """PG_BIN_DIR, else the newest /usr/lib/postgresql/<version>/bin (Debian keeps initdb off PATH), else PATH."""
    candidates = [Path(os.environ["PG_BIN_DIR"])] if os.environ.get("PG_BIN_DIR") else []
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    candidates += versions
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)
    return next((c for c in candidates if (c / "initdb").exists() and (c / "postgres").exists()), None)


def _run_as() -> pwd.struct_passwd | None:
    """The user to run the server as: None for ourselves, `postgres` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and there is no `postgres` user to run PostgreSQL as: "
                           "apt-get install postgresql (it creates one) or run the tests as another user") from None


def _as_user(user: pwd.struct_passwd | None) -> dict:
    return {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


@dataclass
class PgServer:
    root: Path
    port: int
    proc: subprocess.Popen
    log_path: Path
    keep_root: bool = False
    _names: count = field(default_factory=lambda: count(1))
    _relaunch: Callable[[], subprocess.Popen] | None = None  # the same server again: same data, same port

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.conninfo(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by create_database, even with clients still connected."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def pause(self, timeout: float = 15.0) -> None:
        """Stop the server (fast shutdown: every client is disconnected) keeping its data; `resume` brings it back."""
        self._terminate(timeout)

    def resume(self, timeout: float = 60.0) -> None:
        """Start the paused server again on the same port with the same data; returns once it accepts clients."""
        assert self._relaunch is not None and self.proc.poll() is not None, "pause() the server first"
        self.proc = self._relaunch()
        _wait_accepting(self, time.monotonic() + timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server and remove its data directory (unless keep_root)."""
        self._terminate(timeout)
        if not self.keep_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _terminate(self, timeout: float) -> None:
        """Fast shutdown (SIGINT: clients are disconnected, not waited for), then immediate, then kill."""
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                continue


def start_postgres(log_path: Path | None = None, *, timeout: float = 60.0,
                   settings: dict[str, str] | None = None) -> PgServer:
    """initdb + postgres on a free 127.0.0.1 port; returns once it accepts connections."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries not found (initdb, postgres): apt-get install postgresql, "
                           "or set PG_BIN_DIR to the directory holding them")
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="pgserver-"))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    data = root / "data"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(root), "TZ": "UTC"}
    initdb = subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C",
         "--no-sync", "--no-instructions"],
        cwd=root, env=env, capture_output=True, text=True, timeout=timeout, **_as_user(user),
    )
    if initdb.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}\n{initdb.stderr}")
    log_path = log_path or root / "postgres.log"
    options = {**FAST_SETTINGS, **(settings or {}), "listen_addresses": "127.0.0.1",
               "unix_socket_directories": str(root)}
    for _attempt in range(3):  # another process may take the free port between our probe and the bind
        server = _launch(bin_dir, data, root, free_port(), options, env, user, log_path)
        try:
            _wait_accepting(server, time.monotonic() + timeout)
            return server
        except _PortTaken:
            server._terminate(timeout)  # keep the data directory for the next port
        except Exception:
            server.stop()
            raise
    message = f"PostgreSQL could not bind a free port:\n{server.log_tail()}"
    server.stop()
    raise RuntimeError(message)


class _PortTaken(Exception):
    pass


def _launch(bin_dir: Path, data: Path, root: Path, port: int, options: dict[str, str], env: dict[str, str],
            user: pwd.struct_passwd | None, log_path: Path) -> PgServer:
    args = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port)]
    for key, value in options.items():
        args += ["-c", f"{key}={value}"]
    def launch() -> subprocess.Popen:
        with open(log_path, "ab") as log:
            return subprocess.Popen(args, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, **_as_user(user))

    return PgServer(root=root, port=port, proc=launch(), log_path=log_path, _relaunch=launch)


def _wait_accepting(server: PgServer, deadline: float) -> None:
    """Poll a real connection until it succeeds; fail with the server log if it exits or the deadline passes."""
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            if "could not bind" in server.log_tail() or "Address already in use" in server.log_tail():
                raise _PortTaken
            raise RuntimeError(f"postgres exited ({server.proc.returncode}) before accepting connections:\n"
                               f"{server.log_tail()}")
        try:
            with psycopg.connect(server.conninfo(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            time.sleep(0.05)  # polling interval, not synchronisation: the loop waits on a real connection
    raise TimeoutError(f"postgres not accepting connections on port {server.port}:\n{server.log_tail()}")
