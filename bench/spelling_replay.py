"""Spelled answers heard in earlier end-to-end runs, decoded again by today's decoder.

Every `docs/accuracy-e2e-*.md` lists, for each miss, what Whisper heard at each turn. The turns that answer a
request to spell with a word for each letter are decoded by `decode_spelled`; a decode counts as right when it is
the expected value or a part of it (a word of a name or company, an address's local part or domain). These are
the runs the decoder's rules were written from, so the figure is a tuning figure, never a held-out one
(`bench.spelling --sets heldout-2` is that).

    python -m bench.spelling_replay            # right / heard
    python -m bench.spelling_replay --misses   # and every decode that is wrong
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from onboarding.interview.spelling import decode_spelled

DOCS = Path(__file__).resolve().parent.parent / "docs"
_MISS = re.compile(r"\[(\w+)\] (\w+): said .* expected '(.*)'$")
_TURN = re.compile(r"\s+agent: (['\"])(.*?)\1 → heard (['\"])(.*)\3$")


def _parts(expected: str) -> set[str]:
    """What one spelling may rightly give for `expected`: the whole, a word of it, an address's parts."""
    low = expected.lower()
    parts = {low, low.replace(" ", ""), *low.split()}
    if "@" in low:
        local, domain = low.split("@")
        parts |= {local, domain, domain.split(".")[0], *re.split(r"[.@]", low)}
    return parts


def spelled_turns() -> list[tuple[str, str, str]]:
    """(run, expected value, what was heard) for every key-word spelling turn in the end-to-end reports."""
    turns = []
    for path in sorted(DOCS.glob("accuracy-e2e-*.md")):
        expected = None
        for line in path.read_text().splitlines():
            if miss := _MISS.match(line):
                expected = miss.group(3)
            elif (turn := _TURN.match(line)) and expected and "word for each letter" in turn.group(2):
                turns.append((path.stem.removeprefix("accuracy-e2e-"), expected, turn.group(4)))
    return turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print every wrong decode")
    args = parser.parse_args()
    right = 0
    turns = spelled_turns()
    for run, expected, heard in turns:
        decoded = decode_spelled(heard)
        text = decoded.text.replace(" ", "").rstrip(".") if decoded else None
        if text is not None and text in _parts(expected):
            right += 1
        elif args.misses:
            print(f"{run}: expected {expected!r}, decoded {text!r} from {heard[:160]!r}")
    print(f"{right}/{len(turns)} spelled turns decode to the expected value or a part of it")


if __name__ == "__main__":
    main()
