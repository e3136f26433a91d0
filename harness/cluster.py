"""LiveKit's distributed mode on one machine: Redis, two livekit-server nodes and two agent workers.

For the multi-node tests: every process is real and on loopback ports. The nodes share rooms, routing and
agent workers through Redis: a room lives on one node, callers and agents reach it through either, and a
job goes (over Redis) to a node with registered workers. A room is pinned to a node through the server API
(`CreateRoom.node_id`), so a test knows where each call lives.

Both workers register with node a. A node hands a job only to its own workers, and retries one that turns
the job down (full) with the next one there; with one worker per node, a job routed on a worker's stale
"available" status (it reports every 2.5 s) would be lost. Production has several workers per node.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import redis
from livekit import api

from harness.simcaller import CallResult, CallScript, SimCaller
from harness.testbed import worker_env
from onboarding.call_records import load_call
from onboarding.db import get_engine
from onboarding.livekit_admin import issue_token, livekit_api, new_room_name
from onboarding.ops.livekit_server import ensure_binary, server_command
from onboarding.ops.processes import ManagedProcess, free_port
from onboarding.settings import REPO_ROOT, Settings

ROOM_NODE_MAP = "room_node_map"  # livekit-server's Redis hash: room name → node id
NODE_ID = re.compile(r'"nodeID": "(ND_\w+)"')
WORKER_FULL, WORKER_AVAILABLE = "worker is at full capacity", "worker is below capacity"  # its status changes

# A two-question interview keeps ten calls within a couple of minutes on two shared cores.
SHORT_INTERVIEW = """\
greeting = "Hi, a quick setup call."
goodbye = "Thanks. Goodbye."
max_attempts = 2

[[fields]]
name = "full_name"
label = "name"
type = "person_name"
questions = ["What's your full name?", "Could you tell me your first and last name?"]
required = true
confirm = true

[[fields]]
name = "team_size"
label = "team size"
type = "integer"
questions = ["How many people are on your team?", "Roughly how many people will use the product?"]
required = true
min = 1
max = 1000000
"""


@dataclass
class Node:
    name: str
    proc: ManagedProcess
    settings: Settings  # livekit_url of this node; keys, agent and database of the cluster
    node_id: str


@dataclass
class Worker:
    name: str
    proc: ManagedProcess
    http_port: int
    max_jobs: int
    node: Node  # the node it registered with
    worker_id: str = ""  # LiveKit's id for it (AW_…), stored on each CallSession it serves

    def _log_events(self) -> list[dict]:
        events = []
        for line in self.proc.log_tail(1_000_000).splitlines():
            if line.startswith("{"):
                with suppress(ValueError):  # a line cut off mid-write
                    events.append(json.loads(line))
        return events

    def read_worker_id(self) -> str:
        self.worker_id = next(e["id"] for e in self._log_events() if e.get("msg") == "registered worker")
        return self.worker_id

    def dropped_by_server(self) -> bool:
        """Its node has closed it (livekit-server logs "closing worker" with its id): until then the node may still
        hand it a call, which a stopped worker never takes."""
        return any("closing worker" in line and self.worker_id in line
                   for line in self.node.proc.log_tail(1_000_000).splitlines())

    def told_server_full(self) -> bool:
        """Whether the last status it sent LiveKit said full (it logs each change; it reports every 2.5 s)."""
        changes = [e["msg"] for e in self._log_events() if e.get("msg", "").startswith((WORKER_FULL, WORKER_AVAILABLE))]
        return bool(changes) and changes[-1].startswith(WORKER_FULL)

    def active_jobs(self) -> int:
        """Calls running in it now, from its own health endpoint (what it counts towards its load)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/worker", timeout=5) as response:
            return int(json.load(response).get("active_jobs", 0))  # protobuf JSON leaves out zeros


@dataclass
class Cluster:
    redis_address: str
    nodes: list[Node]
    workers: list[Worker]
    database_url: str

    def worker_by_id(self, worker_id: str | None) -> Worker | None:
        return next((w for w in self.workers if w.worker_id == worker_id), None)

    def live_workers(self) -> list[Worker]:
        return [w for w in self.workers if w.proc.alive()]

    def room_node(self, room_name: str) -> str | None:
        """The node hosting a room, as the nodes agree on it in Redis."""
        host, port = self.redis_address.split(":")
        with redis.Redis(host=host, port=int(port)) as client:
            node = client.hget(ROOM_NODE_MAP, room_name)
        return node.decode() if node else None

    def server_sees_room(self) -> bool:
        """Some live worker has room for a call and has told LiveKit so. Until a worker that was full reports
        again, the server still counts it full, and a call with every worker counted full gets no agent."""
        return any(w.active_jobs() < w.max_jobs and not w.told_server_full() for w in self.live_workers())

    def total_active_jobs(self) -> int:
        return sum(w.active_jobs() for w in self.live_workers())


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60.0, interval: float = 0.2,
                     stable_for: float = 0.0) -> None:
    """Poll a blocking predicate off the event loop until it holds (for `stable_for` seconds in a row, for
    state that is logged just before it reaches another process), or fail after the deadline."""
    deadline = time.monotonic() + timeout
    held_since = None
    while True:
        if await asyncio.to_thread(predicate):
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since >= stable_for:
                return
        else:
            held_since = None
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f} s")
        await asyncio.sleep(interval)  # poll interval


async def open_room(node: Node, room_name: str, *, host: Node | None = None, dispatch: bool = True) -> str:
    """Create a room through `node`'s API on the `host` node (default: that node), dispatching the agent.

    The dispatch goes in the room itself: a room that already exists ignores a token's room configuration.
    A caller who hangs up leaves the agent alone in the room, and its job (a worker slot) lasts until the
    room closes: after 2 s here rather than the server's default 20 s.
    """
    host = host or node
    agents = [api.RoomAgentDispatch(agent_name=node.settings.agent_name)] if dispatch else None
    lk = livekit_api(node.settings)
    try:
        await lk.room.create_room(api.CreateRoomRequest(name=room_name, node_id=host.node_id, empty_timeout=60,
                                                        departure_timeout=2, agents=agents))
    finally:
        await lk.aclose()
    return room_name


@dataclass
class PlacedCall:
    room: str
    caller_node: Node  # whose URL the caller connected to
    host_node: Node  # where the room lives
    caller: SimCaller
    task: asyncio.Task[CallResult]
    worker: Worker  # who took the job (the CallSession's worker_id)

    async def hang_up(self) -> None:
        """The caller leaves, whatever it was waiting for."""
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def _room_jobs_unsent(node: Node) -> int:
    """How often the node found no worker to send a room's agent job to ("failed to send job request", "no servers
    available", JT_ROOM: every worker counted full when the room opened; the line does not name the room, so calls
    placed one at a time tell theirs by the count going up)."""
    return sum(1 for line in node.proc.log_tail(1_000_000).splitlines()
               if "failed to send job request" in line and "no servers available" in line and "JT_ROOM" in line)


async def place_call(cluster: Cluster, index: int, script: CallScript, *, join_timeout: float = 90.0,
                     attempts: int = 3) -> PlacedCall:
    """A simulated caller whose signalling goes through node index % 2 into a room on node (index // 2) % 2,
    so calls cover every pairing; returns once the agent has joined and the call is recorded. A room the server
    sent no agent to (a worker's "I have room again" had not reached it yet) is left and the call placed again in
    a new room, as the widget tries again when every agent is busy."""
    for _ in range(attempts - 1):
        try:
            return await _place_call(cluster, index, script, join_timeout)
        except _NoAgentSent:
            await wait_until(cluster.server_sees_room, "a worker to tell LiveKit it has room", timeout=60)
    return await _place_call(cluster, index, script, join_timeout)


class _NoAgentSent(Exception):
    """The host node logged that it dispatched no agent to the room."""


async def _place_call(cluster: Cluster, index: int, script: CallScript, join_timeout: float) -> PlacedCall:
    caller_node, host = cluster.nodes[index % 2], cluster.nodes[(index // 2) % 2]
    unsent_before = _room_jobs_unsent(host)
    room = await open_room(caller_node, new_room_name(caller_node.settings), host=host)
    if cluster.room_node(room) != host.node_id:
        raise AssertionError(f"{room} is on {cluster.room_node(room)}, not on node {host.name} ({host.node_id})")
    issued = issue_token(caller_node.settings, room_name=room, participant_name=f"Sim Caller {index}")
    caller = SimCaller(caller_node.settings, script)
    task = asyncio.create_task(caller.run(issued.token, room))
    try:
        await wait_until(lambda: load_call(cluster.database_url, room) is not None or task.done()
                         or _room_jobs_unsent(host) > unsent_before, f"the agent to take the call in {room}",
                         timeout=join_timeout)
        record = load_call(cluster.database_url, room)
        if record is None and not task.done() and _room_jobs_unsent(host) > unsent_before:
            raise _NoAgentSent(room)
        if record is None:  # the caller gave up (its exception says why)
            await task
            raise AssertionError(f"caller in {room} finished before any agent recorded the call")
        worker = cluster.worker_by_id(record.call.worker_id)
        if worker is None:
            raise AssertionError(f"{room} served by unknown worker {record.call.worker_id}")
    except BaseException:
        task.cancel()
        raise
    return PlacedCall(room, caller_node, host, caller, task, worker)


def start_redis(workdir: Path, log_path: Path) -> tuple[ManagedProcess, str]:
    """Debian's redis-server on a free loopback port, nothing persisted."""
    redis_bin = shutil.which("redis-server")
    if not redis_bin:
        raise RuntimeError("redis-server not found: apt-get install redis-server")
    port = free_port()
    cmd = [redis_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", str(workdir), "--daemonize", "no"]
    proc = ManagedProcess("redis-server", cmd, log_path=log_path)
    proc.wait_for_output("Ready to accept connections", timeout=30)
    return proc, f"127.0.0.1:{port}"


def start_node(name: str, base: Settings, redis_address: str, log_path: Path) -> Node:
    port, tcp, udp = free_port(), free_port(), free_port()
    settings = base.model_copy(update={"livekit_url": f"ws://127.0.0.1:{port}", "livekit_rtc_port": tcp,
                                       "livekit_udp_port": udp})
    cmd = server_command(ensure_binary(settings), settings, port=port, rtc_tcp_port=tcp, udp_port=udp,
                         redis_address=redis_address)
    proc = ManagedProcess(f"livekit-{name}", cmd, log_path=log_path)
    proc.wait_ready(f"http://127.0.0.1:{port}/", timeout=30)
    found = NODE_ID.search(proc.log_tail(200))
    if not found:
        raise RuntimeError(f"livekit-{name}: no node id in its log:\n{proc.log_tail()}")
    return Node(name, proc, settings, found.group(1))


def start_worker_on(name: str, node: Node, log_path: Path, *, max_jobs: int, **env: str) -> Worker:
    """An agent worker process registered with one node (not waited for: see `Worker.read_worker_id`)."""
    http_port = free_port()
    settings = node.settings.model_copy(update={"worker_http_port": http_port, "max_jobs_per_worker": max_jobs})
    proc = ManagedProcess(f"worker-{name}", [sys.executable, "agent_worker.py"], cwd=REPO_ROOT,
                          env=worker_env(settings, WORKER_METRICS_PORT="0", **env), log_path=log_path)
    return Worker(name, proc, http_port, max_jobs, node)


@contextmanager
def running_cluster(base: Settings, workdir: Path, logs: Path, *, max_jobs: tuple[int, int],
                    **worker_overrides: str) -> Iterator[Cluster]:
    """Redis, nodes a and b, workers 1 and 2 registered with node a; everything stopped on exit."""
    database_url = f"sqlite:///{workdir / 'calls.db'}"
    interview = workdir / "interview.toml"
    interview.write_text(SHORT_INTERVIEW)
    get_engine(database_url)  # the schema first: two workers' first calls would race to create it
    base = base.model_copy(update={"database_url": database_url, "worker_metrics_port": 0,
                                   "audio_storage_path": workdir / "audio"})
    with ExitStack() as stack:
        redis_proc, redis_address = start_redis(workdir, logs / "redis.log")
        stack.callback(redis_proc.stop)
        nodes = []
        for name in ("a", "b"):
            node = start_node(name, base, redis_address, logs / f"livekit-node-{name}.log")
            stack.callback(node.proc.stop)
            nodes.append(node)
        workers = []
        for index, limit in enumerate(max_jobs, start=1):
            worker = start_worker_on(str(index), nodes[0], logs / f"agent-worker-{index}.log", max_jobs=limit,
                                     INTERVIEW_PATH=str(interview), **worker_overrides)
            stack.callback(worker.proc.stop)
            workers.append(worker)
        for worker in workers:  # loading the models takes a while: both load at once
            worker.proc.wait_for_output("registered worker", timeout=180)
            worker.read_worker_id()
        yield Cluster(redis_address, nodes, workers, database_url)
