"""The read-back calibration's bookkeeping: whole callers out of a held-out file, and what a threshold reads back."""

from __future__ import annotations

from bench.readback_calibration import CORPUS_DIR, HeardAnswer, callers, table, thresholds


def test_whole_callers_are_the_nth_entry_of_every_field() -> None:
    people = callers(CORPUS_DIR / "heldout-19.toml")
    assert [p["full_name"]["expected"] for p in people] == ["Rowan Whitfield", "Kavya Mehra"]
    assert people[1]["email"]["expected"] == "kavya@mehrainteriors.in" and "reject" not in people[1]


def test_a_threshold_reads_back_below_it_and_counts_the_wrong_values_it_lets_through() -> None:
    heard = [HeardAnswer("role", "slt", "Pastry chef.", "Pastry Chef", "Pay Street Chef", 0.6),
             HeardAnswer("role", "slt", "Site manager.", "Site Manager", "Site Manager", 0.6),
             HeardAnswer("role", "awb", "Owner.", "Owner", "Owner", 0.85),
             HeardAnswer("role", "awb", "Director.", "Director", None, 0.0)]
    rows = {line.split(" | ")[1]: line for line in thresholds(heard, ["role"]).splitlines()[2:]}
    assert rows["0.60"] == "| role | 0.60 | 0/3 | 0 | 1 |"  # nothing read back: the wrong title stored
    assert rows["0.65"] == "| role | 0.65 | 2/3 | 1 | 0 |"
    assert "| role | 0.60 | 2 | 1 | 50 |" in table(heard) and "| role | 0.85 | 1 | 1 | 100 |" in table(heard)
