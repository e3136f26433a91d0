"""Two spellings of one answer, each a little wrong, read together.

Whisper tiny drops a letter of a spelling more often than it invents one, and rarely the same letter twice: Paola
Ferraro spelled "B-A-O-L-A, F-E-R-A-R-O" (the P heard B, an R lost), then, asked again, "Pola Ferraro" (the A
lost). Neither was right, and the field went to staff. Aligned letter by letter, the two hold "Paola Ferraro":
letters only one attempt has are kept (a lost letter is the commoner slip) and where they disagree the latest's
letter is taken, unless a reading makes more words the call has heard otherwise: "Fair Events", refused, is why
"Ferraro Ebents" and "Ferraro Eventc" read "Ferraro Events", and a confirmed "Marcus Halvorsen" keeps "Hlflvorsen
Marine" and "Halvorsen Marine" from reading "Haflvorsen Marine". The caller still confirms what is read back.
"""

from __future__ import annotations

import itertools
import re

from onboarding.interview.spelling import edit_distance

# Two tries at the same letters differ by a few slips: more edits than this (or than a letter in four), and they
# are two different hearings ("iwillllook@…" said as an address, then "pola@…" spelled), not one to mend.
MOST_EDITS = 3
SPELLED_KINDS = ("person_name", "email", "company")  # read letter by letter (a number's digits are checked whole)


def edits(a: str, b: str) -> int:
    """Letters added, lost or changed between two attempts, case aside."""
    return edit_distance(a.lower(), b.lower())


def read_together(earlier: str, latest: str, known_words: set[str]) -> str | None:
    """`latest` and `earlier` read together: the reading that makes the most words of `known_words` (lower
    case), and of those the one with every letter either heard, the latest's where they differ. None when they
    are not two tries at the same letters."""
    slips = edits(earlier, latest)
    if not 0 < slips <= MOST_EDITS or slips * 4 > len(latest):
        return None
    parts = _aligned(earlier, latest)
    candidates = ["".join(pick) for pick in itertools.product(*parts)]  # every letter, the latest's, first

    def known(text: str) -> int:
        return sum(word in known_words for word in re.findall(r"[a-z]+", text.lower()))

    return max(candidates, key=known)  # max keeps the first of equals


def _aligned(earlier: str, latest: str) -> list[list[str]]:
    """The two letter by letter at the least edit distance (case aside), as the choices at each place: a letter
    both have; a letter only one has, kept or not (kept first); two letters in one place (the latest's first).
    Where a lost letter sits beside a changed one ("Baola" / "Pola"), the change is taken first: B or P, then
    the A."""
    a, b = earlier.lower(), latest.lower()
    # cost[i][j]: edits between a[i:] and b[j:]
    cost = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a), -1, -1):
        for j in range(len(b), -1, -1):
            if i == len(a) or j == len(b):
                cost[i][j] = (len(a) - i) + (len(b) - j)
            else:
                cost[i][j] = min(cost[i + 1][j + 1] + (a[i] != b[j]), cost[i + 1][j] + 1, cost[i][j + 1] + 1)
    parts: list[list[str]] = []
    i = j = 0
    while i < len(a) or j < len(b):
        if i < len(a) and j < len(b) and cost[i][j] == cost[i + 1][j + 1] + (a[i] != b[j]):
            parts.append([latest[j]] if a[i] == b[j] else [latest[j], earlier[i]])
            i, j = i + 1, j + 1
        elif i < len(a) and cost[i][j] == cost[i + 1][j] + 1:
            parts.append([earlier[i], ""])  # only the earlier attempt heard it
            i += 1
        else:
            parts.append([latest[j], ""])  # only the latest heard it
            j += 1
    return parts


def words_of(*values: object) -> set[str]:
    """The lower-case words in values the call has heard ("Fair Events", "ewan@whitaker.co.uk")."""
    return {word for value in values for word in re.findall(r"[a-z]+", str(value).lower()) if len(word) > 2}
