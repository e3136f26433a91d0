"""Spelled answers: "D M I T R I", "double l", "A as in alpha", "dot", "underscore", "dash".

A caller asked to spell says letters, letter names ("bee", "double you"), radio words ("Mike", "as in apple"),
symbols said as words and digits; Whisper writes the same thing as "D M I T R I", "D-M-I-T-R-I", "D. M. I."
or glued capitals. `decode_spelled` turns one utterance into the characters it spells, or None when the
utterance is not a spelling (too few letters), so the interview can fall back to reading it as an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LETTER_NAMES = {
    "ay": "a", "bee": "b", "be": "b", "see": "c", "sea": "c", "cee": "c", "dee": "d", "ee": "e", "ef": "f",
    "eff": "f", "gee": "g", "jee": "g", "aitch": "h", "haitch": "h", "eye": "i", "jay": "j", "kay": "k",
    "el": "l", "ell": "l", "elle": "l", "em": "m", "en": "n", "oh": "o", "pee": "p", "pea": "p", "cue": "q",
    "queue": "q", "ar": "r", "are": "r", "ess": "s", "es": "s", "tee": "t", "tea": "t", "you": "u", "yu": "u",
    "vee": "v", "ex": "x", "why": "y", "wye": "y", "zed": "z", "zee": "z",
}
RADIO = {
    "alpha": "a", "alfa": "a", "bravo": "b", "charlie": "c", "delta": "d", "echo": "e", "foxtrot": "f",
    "golf": "g", "hotel": "h", "india": "i", "juliet": "j", "juliett": "j", "kilo": "k", "lima": "l",
    "mike": "m", "november": "n", "oscar": "o", "papa": "p", "quebec": "q", "romeo": "r", "sierra": "s",
    "tango": "t", "uniform": "u", "victor": "v", "whiskey": "w", "whisky": "w", "xray": "x", "yankee": "y",
    "zulu": "z",
}
DIGITS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
          "seven": "7", "eight": "8", "nine": "9"}
SYMBOLS = {"dot": ".", "period": ".", "point": ".", "underscore": "_", "dash": "-", "hyphen": "-",
           "minus": "-", "at": "@", "plus": "+", "space": " "}
_NOISE = {"capital", "small", "upper", "lower", "case", "uppercase", "lowercase", "letter", "then", "and",
          "the", "an", "um", "uh", "er", "comma", "sign", "that's", "thats", "is", "it's", "its", "spelled",
          "spelt", "so"}
_LEAD = re.compile(r"^(?:(?:no|nope|yes|yeah|sure|okay|ok|so|well|right|sorry|actually|it's|it is|that's|that is|"
                   r"spelled|spelt|spell(?:ed)? it|i spell it|it's spelled|letter by letter|my (?:name|email|"
                   r"surname|last name|first name)(?: is)?|that would be)[,.:!]?\s+)+", re.IGNORECASE)
_AS_IN = {"as", "for", "like"}
_MULTI = {"double": 2, "triple": 3}


@dataclass(frozen=True)
class Spelled:
    """What an utterance spells, and how many of its words were letters (a spelling has several)."""

    text: str
    letters: int
    words: int  # words kept as they were said ("example" in "M A R I A at example dot com")


def _tokens(text: str) -> list[str]:
    """Tokens with Whisper's spellings taken apart: "D-M-I" → d m i, "D. M." → d m, glued "DMITRI" kept whole."""
    text = re.sub(r"\b([A-Za-z])(?:[-.]\s?)(?=[A-Za-z]\b)", r"\1 ", text)  # "D-M-I-T", "D. M. I."
    text = text.replace("x-ray", "xray").replace("X-ray", "xray")
    return re.findall(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d|[.@_+\-]", text)


def decode_spelled(text: str, *, min_letters: int = 2) -> Spelled | None:
    """The characters a spelled utterance says, lowercase ("D M I T R I" → "dmitri", "J underscore smith at
    example dot com" → "j_smith@example.com"); None when it holds fewer than `min_letters` spelled letters."""
    body = _LEAD.sub("", (text or "").strip().replace("’", "'"))
    toks = _tokens(body)
    out: list[str] = []
    letters = words = 0
    repeat = 1
    i = 0
    while i < len(toks):
        raw = toks[i]
        tok = raw.lower()
        i += 1
        if tok in _MULTI:
            repeat = _MULTI[tok]
            continue
        if tok in _AS_IN and out and i < len(toks):  # "A as in alpha", "B for bravo", "M like Mike": skip the word
            j = i + 1 if toks[i].lower() == "in" and i + 1 < len(toks) else i
            if toks[j].lower()[:1] == out[-1][-1:]:
                i = j + 1
                continue
        if tok in ("you", "u") and repeat == 2:  # "double you"
            piece, repeat = "w", 1
        elif (len(tok) == 1 and tok.isalpha()) or (raw.isupper() and raw.isalpha() and len(raw) <= 12):
            piece = tok
        elif tok in RADIO:
            piece = RADIO[tok]
        elif tok in LETTER_NAMES:
            piece = LETTER_NAMES[tok]
        elif tok in DIGITS or tok.isdigit():
            piece = DIGITS.get(tok, tok)
        elif tok in SYMBOLS or tok in ".@_+-":
            out.append(SYMBOLS.get(tok, tok))
            repeat = 1
            continue
        elif tok in _NOISE:
            continue
        else:  # a word said whole ("example", "gmail"): kept as it was
            words += 1
            out.append(tok)
            repeat = 1
            continue
        letters += len(piece)
        out.append(piece[0] * repeat + piece[1:])
        repeat = 1
    if letters < min_letters:
        return None
    return Spelled(re.sub(r"\s+", " ", "".join(out)).strip(" ."), letters, words)


def spell_out(value: str) -> str:
    """How a caller spells a value aloud, a short pause after each letter: "dmitri" → "D, M, I, T, R, I";
    symbols as words (for the simulated callers)."""
    names = {".": "dot", "@": "at", "_": "underscore", "-": "dash", "+": "plus", " ": "space"}
    parts = [names.get(ch, ch.upper()) for ch in value]
    return ", ".join(parts)
