"""LiveKit's distributed mode on one machine: Redis, two livekit-server nodes, two agent workers, real calls.

One cluster for the module (starting two workers loads the speech models twice); the test that stops a
worker runs last. Calls start one at a time, each once its agent has joined, and at most CONCURRENT_CALLS run
at once (counted by the workers themselves): two cores run everything here.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cluster import Cluster, PlacedCall, open_room, place_call, running_cluster, wait_until
from harness.personas import PERSONAS
from harness.simcaller import CallScript
from harness.testbed import settled_call, wait_for_rooms
from onboarding.admin.rooms import close_room
from onboarding.call_records import load_call
from onboarding.livekit_admin import new_room_name
from onboarding.settings import Settings

pytestmark = pytest.mark.slow

DEFAULT_MAX_JOBS = Settings.model_fields["max_jobs_per_worker"].default  # the capacity `make bench` measured
WORKER1_MAX_JOBS = 2  # worker 1 takes fewer, so the two workers fill up at different points
CONCURRENT_CALLS = 3
SHORT_FIELDS = ("full_name", "team_size")  # what harness.cluster.SHORT_INTERVIEW asks


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Cluster]:
    base = Settings(_env_file=None).model_copy(update={
        "agent_name": f"onboarding-multinode-{os.getpid()}",
        "reprompt_after_silence_seconds": 20.0,  # held calls stay quiet while a test looks at them
    })
    with running_cluster(base, tmp_path_factory.mktemp("cluster"), artifacts,
                         max_jobs=(WORKER1_MAX_JOBS, DEFAULT_MAX_JOBS)) as running:
        yield running


def reactive(index: int) -> tuple[CallScript, dict]:
    persona = PERSONAS[index % len(PERSONAS)]
    expected = {name: persona.expected[name] for name in SHORT_FIELDS}
    return CallScript(answer_book=persona.answer_book, expected=expected, timeout=240), expected


def silent() -> CallScript:
    """A caller who joins and listens: the call stays in progress until it hangs up."""
    return CallScript(answers=[], timeout=300)


async def next_slot(cluster: Cluster, busy_below: int = CONCURRENT_CALLS) -> None:
    """Fewer than `busy_below` calls running, and LiveKit knows a worker has room (a status message is
    logged just before it is sent, hence a moment of stability)."""
    await wait_until(lambda: cluster.total_active_jobs() < busy_below and cluster.server_sees_room(),
                     f"fewer than {busy_below} calls running, with LiveKit told", timeout=240, stable_for=0.5)


async def idle(cluster: Cluster) -> None:
    await next_slot(cluster, busy_below=1)


async def test_rooms_listing_sees_rooms_on_both_nodes_through_either_node(cluster: Cluster) -> None:
    a, b = cluster.nodes
    on_a = await open_room(b, new_room_name(a.settings), host=a, dispatch=False)  # through b's API, hosted on a
    on_b = await open_room(a, new_room_name(a.settings), host=b, dispatch=False)
    assert (cluster.room_node(on_a), cluster.room_node(on_b)) == (a.node_id, b.node_id)
    for node in cluster.nodes:
        listing = await wait_for_rooms(node.settings, lambda found: {on_a, on_b} <= {r.name for r in found.rooms})
        assert listing.error is None
    assert (await close_room(a.settings, on_b)).ok and (await close_room(b.settings, on_a)).ok
    await wait_for_rooms(b.settings, lambda found: not {on_a, on_b} & {r.name for r in found.rooms})


async def test_ten_callers_over_both_nodes_and_both_workers_complete(cluster: Cluster, artifacts: Path) -> None:
    await idle(cluster)
    started = time.monotonic()
    calls: list[tuple[PlacedCall, dict]] = []
    for index in range(10):
        await next_slot(cluster)
        script, expected = reactive(index)
        calls.append((await place_call(cluster, index, script), expected))
    results = await asyncio.gather(*(call.task for call, _ in calls))
    elapsed = time.monotonic() - started

    names = {p.expected["full_name"] for p in PERSONAS}
    for (call, expected), result in zip(calls, results, strict=True):
        assert result.completed, (call.room, result.status, result.transcript)
        record = await settled_call(cluster.nodes[0].settings, call.room)
        assert record.call.status == "completed", (call.room, record.call.status_reason)
        assert record.call.worker_id == call.worker.worker_id
        answers, flagged = record.profile.answers, record.profile.flagged
        # the read-back name is right or flagged for staff, never silently wrong; nobody else's name
        assert answers.get("full_name") == expected["full_name"] or "full_name" in flagged, (answers, flagged)
        assert answers.get("full_name") in {expected["full_name"], None} or answers["full_name"] not in names
        assert answers.get("team_size") is not None or "team_size" in flagged, (answers, flagged)
        assert len(record.user_turns) >= 3 and record.agent_turns  # name, yes, team size; greeting and replies

    per_worker = Counter(call.worker.name for call, _ in calls)
    assert set(per_worker) == {w.name for w in cluster.workers}, per_worker
    assert {call.host_node.name for call, _ in calls} == {call.caller_node.name for call, _ in calls} == {"a", "b"}
    (artifacts / "multinode-calls.json").write_text(json.dumps({
        "seconds": round(elapsed, 1), "calls_per_worker": dict(per_worker),
        "calls": [{"room": c.room, "caller_node": c.caller_node.name, "room_node": c.host_node.name,
                   "worker": c.worker.name, "voice_to_voice_s": [round(x, 2) for x in r.latencies]}
                  for (c, _), r in zip(calls, results, strict=True)],
    }, indent=1))


async def test_worker_at_its_max_jobs_sends_the_next_call_to_the_other_worker(cluster: Cluster) -> None:
    await idle(cluster)
    held: list[PlacedCall] = []
    try:
        full = None
        for index in range(sum(w.max_jobs for w in cluster.workers) - 1):  # one of them fills up by then
            await next_slot(cluster, busy_below=99)
            held.append(await place_call(cluster, index, silent()))
            full = next((w for w in cluster.workers if w.active_jobs() >= w.max_jobs), None)
            if full:
                break
        assert full is not None, [(w.name, w.active_jobs()) for w in cluster.workers]
        other = next(w for w in cluster.workers if w is not full)
        await next_slot(cluster, busy_below=99)  # the other worker has room, and LiveKit knows
        before = other.active_jobs()
        one_more = await place_call(cluster, len(held), silent())
        held.append(one_more)
        assert one_more.worker is other, f"call {full.max_jobs + 1} went to {one_more.worker.name}, already full"
        assert (full.active_jobs(), other.active_jobs()) == (full.max_jobs, before + 1)
        assert Counter(c.worker.name for c in held)[full.name] == full.max_jobs
    finally:
        for call in held:
            await call.hang_up()
    await idle(cluster)


async def test_stopping_a_worker_abandons_its_calls_and_new_calls_go_to_the_other(cluster: Cluster) -> None:
    await idle(cluster)
    stopped, survivor = cluster.workers[1], cluster.workers[0]
    partial: list[PlacedCall] = []
    try:
        # calls that give their name and then wait: in progress with turns stored, until one is on each worker
        for index in range(4):
            await next_slot(cluster, busy_below=99)
            persona = PERSONAS[index % len(PERSONAS)]
            partial.append(await place_call(cluster, index, CallScript(answers=[persona.answers[0]], timeout=300)))
            if {c.worker.name for c in partial} == {w.name for w in cluster.workers}:
                break
        assert {c.worker.name for c in partial} == {w.name for w in cluster.workers}
        for call in partial:
            await wait_until(lambda room=call.room: _answered(cluster, room), f"the name answer in {call.room}",
                             timeout=120)

        exit_code = await asyncio.to_thread(stopped.proc.stop, 30.0)  # SIGTERM, as an operator would
        assert exit_code == 0, stopped.proc.log_tail()
        await wait_until(stopped.dropped_by_server, "LiveKit to close the stopped worker", timeout=60)
        for call in partial:
            if call.worker is stopped:
                record = await settled_call(cluster.nodes[0].settings, call.room, timeout=60)
                assert record.call.status == "abandoned", record.call.status_reason
                user_turns = [t.text for t in record.user_turns]
                assert len(user_turns) == 1 and user_turns[0], user_turns  # the answer given is kept
                assert len(record.agent_turns) >= 2  # greeting and question, then the read-back
            else:
                assert load_call(cluster.database_url, call.room).call.status == "in_progress"
    finally:
        for call in partial:
            await call.hang_up()

    await idle(cluster)
    for index in range(2):  # callers on both nodes: only the surviving worker can answer them
        call = await place_call(cluster, index, reactive(index)[0])
        result = await call.task
        assert call.worker is survivor
        assert result.completed, (call.room, result.status, result.transcript)
        await idle(cluster)


def _answered(cluster: Cluster, room: str) -> bool:
    """The caller's first answer is stored and the agent has replied to it."""
    record = load_call(cluster.database_url, room)
    return record is not None and bool(record.user_turns) and record.turns[-1].role == "agent"
