"""How the worker benchmarks read their rounds: callers dialling together and arriving apart are counted apart."""

from __future__ import annotations

from bench.cloud_bench import capacity, headline
from bench.worker_bench import Row, arrivals, table, who


def _row(callers: int, p95_ms: float, arrive_every: float = 0.0, failed: int = 0) -> Row:
    latencies = [p95_ms] * 20  # every turn at the p95: the percentile is that figure
    return Row(callers, latencies, failed, callers, 60.0 * callers, 6.0 * callers, 100, 100, 120, 120, 60,
               arrive_every=arrive_every)


def test_a_round_of_several_runs_together_then_apart_and_one_caller_once() -> None:
    assert arrivals(1, 3.0) == [0.0]
    assert arrivals(5, 3.0) == [0.0, 3.0]
    assert arrivals(5, 0.0) == [0.0]


def test_capacity_is_read_per_way_of_arriving() -> None:
    rows = [_row(1, 800), _row(5, 1300), _row(5, 1100, arrive_every=3), _row(10, 1150, arrive_every=3, failed=1)]
    assert capacity(rows) == (1, 8)  # 5 together missed the p95; 10% of a core per call → 8 at 85 %
    assert capacity(rows, spaced=True)[0] == 5  # 10 apart met the p95 but lost a turn
    line = headline(rows, pinned=True)
    assert "dialling together **1 per core, 2 per 2-core box**" in line
    assert "arriving 3 s apart **5 per core, 10 per 2-core box**" in line


def test_rounds_say_how_their_callers_arrived() -> None:
    rows = [_row(1, 800), _row(5, 1300), _row(5, 1100, arrive_every=3)]
    assert [who(r) for r in rows] == ["1 caller", "5 callers at once", "5 callers arriving 3 s apart"]
    assert [line.split(" | ")[0] for line in table(rows).splitlines()[2:]] == ["| 1", "| 5", "| 5, arriving 3 s apart"]
