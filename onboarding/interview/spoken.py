"""Spoken-form helpers shared by the normalisers: number words, digit strings, spelled letters.

STT gives us "twenty five", "25" or "two five" for the same thing depending on the model and the
speaker, so the normalisers work on one token stream where these have been made comparable.
"""

from __future__ import annotations

import re
import unicodedata

UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9}
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
SCALES = {"thousand": 1000, "million": 1_000_000}
# Words Whisper produces for digits in a spelled sequence ("oh" for 0, "to"/"too" for 2 are too risky).
DIGIT_WORDS = {**{k: str(v) for k, v in UNITS.items()}, "oh": "0", "o": "0", "nought": "0"}
FILLERS = {"um", "uh", "er", "erm", "ah", "hmm", "mm", "uhm", "umm", "uhh"}

_TOKEN = re.compile(r"[a-z0-9]+(?:[',.][a-z0-9]+)*|[@+&_-]")


# Whisper writes compound numbers with a hyphen: "Twenty-five" is two number words, not a dash.
_HYPHENATED_NUMBER = re.compile(r"\b(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)-(?=[a-z])")


def folded(word: str) -> str:
    """Lowercase, accents folded ("Fernández" → "fernandez"): how an address writes a name, how a spelling says it."""
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()


def tokens(text: str) -> list[str]:
    """Lowercase word tokens; keeps "1,200", "don't" and "maria.garcia" whole and symbols separate."""
    return _TOKEN.findall(_HYPHENATED_NUMBER.sub(r"\1 ", text.lower().replace("’", "'")))


def number_class(token: str) -> str | None:
    if token in UNITS:
        return "unit"
    if token in TEENS:
        return "teen"
    if token in TENS:
        return "tens"
    if token == "hundred":
        return "hundred"
    if token in SCALES:
        return "scale"
    if re.fullmatch(r"\d{1,3}(,\d{3})+|\d+(\.\d+)?k?", token):
        return "digit"
    return None


_FOLLOWS = {  # which number word may continue a number after which
    "unit": {"hundred", "scale"},
    "teen": {"hundred", "scale"},
    "digit": {"hundred", "scale"},
    "tens": {"unit", "hundred", "scale"},
    "hundred": {"unit", "teen", "tens", "scale", "and"},
    "scale": {"unit", "teen", "tens", "digit", "hundred", "and"},
    "and": {"unit", "teen", "tens", "digit"},
}


def _digit_value(token: str) -> int:
    token = token.replace(",", "")
    if token.endswith("k"):
        return int(float(token[:-1]) * 1000)
    return int(float(token))


def _value(span: list[str]) -> int:
    total, current = 0, 0
    for tok in span:
        cls = number_class(tok)
        if cls == "unit":
            current += UNITS[tok]
        elif cls == "teen":
            current += TEENS[tok]
        elif cls == "tens":
            current += TENS[tok]
        elif cls == "digit":
            current += _digit_value(tok)
        elif cls == "hundred":
            current = max(current, 1) * 100
        elif cls == "scale":
            total += max(current, 1) * SCALES[tok]
            current = 0
    return total + current


def find_numbers(toks: list[str]) -> list[tuple[int, int, int]]:
    """Numbers in a token list as (value, first index, index after); "a hundred" counts as 100."""
    found: list[tuple[int, int, int]] = []
    i = 0
    while i < len(toks):
        cls = number_class(toks[i])
        start = i
        if cls is None and toks[i] in ("a", "an") and i + 1 < len(toks) and number_class(toks[i + 1]) in (
                "hundred", "scale"):
            cls, start, i = number_class(toks[i + 1]), i, i + 1
        if cls is None:
            i += 1
            continue
        span, last = [toks[i]], cls
        j = i + 1
        while j < len(toks):
            nxt = "and" if toks[j] == "and" else number_class(toks[j])
            if nxt is None or nxt not in _FOLLOWS.get(last, set()):
                break
            span.append(toks[j])
            last = nxt
            j += 1
        if span[-1] == "and":
            span.pop()
            j -= 1
        found.append((_value(span), start, j))
        i = j
    return found


def spoken_digits(toks: list[str]) -> str:
    """A digit string from spoken digits: "five five five", "double five", "oh", "twenty three"."""
    out: list[str] = []
    repeat = 1
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok in ("double", "triple"):
            repeat = 2 if tok == "double" else 3
            i += 1
            continue
        piece = ""
        if tok.isdigit():
            piece = tok
        elif tok in DIGIT_WORDS:
            piece = DIGIT_WORDS[tok]
        elif tok in TEENS:
            piece = str(TEENS[tok])
        elif tok in TENS:
            piece = str(TENS[tok])
            if i + 1 < len(toks) and toks[i + 1] in UNITS and toks[i + 1] != "zero":
                piece = str(TENS[tok] + UNITS[toks[i + 1]])
                i += 1
        elif tok == "hundred" and out:
            piece = "00"
        elif tok == "thousand" and out:
            piece = "000"
        if piece:
            out.append(piece[0] * repeat + piece[1:] if repeat > 1 else piece)
        repeat = 1
        i += 1
    return "".join(out)


TWO_HEARD = {"to", "too", "do"}  # how Whisper writes a "two" said among other digits


def beside_a_digit(toks: list[str], at: int, digit_words: set[str] | dict[str, str], both: bool = False) -> bool:
    """The token before or after `at` (with `both`, before and after) is a digit or one of `digit_words`: a word
    Whisper writes for a digit ("to", "far") counts as one only among others."""
    sides = (0 <= j < len(toks) and (toks[j].isdigit() or toks[j] in digit_words) for j in (at - 1, at + 1))
    return all(sides) if both else any(sides)


SPACE_SAID = re.compile(r"[\s,.]*\bspace\b[\s,.]*", re.IGNORECASE)


def join_spelled(text: str) -> str:
    """Turn spelled runs into words: "G A R C I A", "G-A-R-C-I-A", "G. A. R.", "T.O.M" become "GARCIA"/"GAR"; "space"
    said between spelled letters parts two words ("T-O-M-A S-Z space N-O-W-A-K" is "TOMASZ NOWAK")."""
    def squash(match: re.Match[str]) -> str:
        return re.sub(r"[\s.\-]", "", match.group(0))

    parts = SPACE_SAID.split(text)
    if len(parts) > 1 and all(re.search(r"(?<![\w'])[A-Za-z](?:-|\s+)[A-Za-z]\b", part) for part in parts):
        return " ".join(join_spelled(part) for part in parts)
    text = re.sub(r"(?<![\w'])(?:[A-Za-z](?:-|\s+)){2,}[A-Za-z]\b(?!-\w)", squash, text)
    # capitals in hyphenated groups, one of them a single letter: "GMA-I-L" is GMAIL as Whisper wrote it spelled
    text = re.sub(r"\b[A-Z]{1,8}(?:-[A-Z]{1,8})+\b",
                  lambda m: squash(m) if re.search(r"(?:^|-)[A-Z](?:-|$)", m.group(0)) else m.group(0), text)
    # "T.O.M at": three or more letters, the last one without its full stop
    text = re.sub(r"(?<![\w'])[A-Za-z](?:\.\s?[A-Za-z]){2,}(?=\s|$|[,;@])", squash, text)
    text = re.sub(r"(?<![\w'])(?:[A-Za-z]\.\s?){2,}(?=\s|$|[,;])", squash, text)
    return re.sub(r"(?<![\w'])(?:[A-Za-z]\s+){2,}[A-Za-z]\b", squash, text)


def strip_fillers(text: str) -> str:
    """Remove hesitation noises and the commas around them."""
    pattern = r"(?:,\s*)?(?<![\w-])(?:" + "|".join(sorted(FILLERS, key=len, reverse=True)) + r")(?![\w-])[,.]?"
    return re.sub(r"\s{2,}", " ", re.sub(pattern, " ", text, flags=re.IGNORECASE)).strip(" ,")


def strip_edges(text: str) -> str:
    """Trim whitespace, quotes and the trailing punctuation Whisper adds ("Acme Corp." -> "Acme Corp")."""
    return text.strip().strip("\"'“”").strip().rstrip(".,!?;:").strip()


def strip_leads(text: str, *patterns: str) -> str:
    """Remove lead-in phrases ("my email is", "this is") repeatedly, never down to nothing."""
    changed = True
    while changed:
        changed = False
        for pattern in patterns:
            new = re.sub(rf"^\s*{pattern}\s*", "", text, flags=re.IGNORECASE)
            if new != text and new.strip():
                text, changed = new, True
    return text


# "kim, K I M, at initech", "My name is Ingrid, I N G R I D, Halvorsen": a word spelled out right after it is said
_WORD_THEN_SPELLED = re.compile(r"\b(?P<w>[A-Za-z]{2,})[\s,]+(?P<s>(?:[A-Za-z][\s,.-]+){1,}[A-Za-z])(?![A-Za-z]),?")


def without_spelled_echo(text: str) -> str:
    """Each word the caller spelled out again right after saying it, once."""
    def once(match: re.Match[str]) -> str:
        letters = re.sub(r"[^A-Za-z]", "", match.group("s"))
        # the comma after the letters goes with them: "Ingrid, Halvorsen" would end the name at "Ingrid"
        return match.group("w") if letters.lower() == match.group("w").lower() else match.group(0)

    return _WORD_THEN_SPELLED.sub(once, text)
