"""Spacing no ear can hear: "Northstar" and "North Star", "Al Farsi" and "Al-Farsi" sound the same.

Speech recognition guesses how such a name is written, and a read-back cannot catch the guess: the caller hears
their own name. So, as an operator on the phone does, the read-back says how it is written when it could go either
way ("North Star, two words", "Grantstudio, one word", "Al-Farsi, with a hyphen"), and the caller's "one word",
"two words" or "no hyphen" changes just that, with no spelling.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from functools import lru_cache
from pathlib import Path

# Words a company's name is made of that say what it is, not who: "Harbor Labs" is two words beyond doubt. From
# common company-name endings and industries (never from the held-out answers).
_GENERIC_COMPANY_WORDS = frozenset(re.findall(r"\w+", """
    and the of for
    corp corporation inc incorporated llc llp ltd limited co company companies group holdings partners associates
    labs lab studio studios design designs media analytics consulting consultants consultancy solutions systems
    services software technologies technology tech works industries enterprises international global agency
    capital ventures foods food health healthcare clinic bank banking insurance logistics games gaming robotics
    cloud digital networks network energy motors pharma pharmaceuticals bakery cafe coffee trading traders
    council library school schools university college hospital foundation institute law legal realty
    properties construction management marketing records press publishing airlines shop store stores market
    markets retail supply brands products manufacturing engineering architects dental medical fitness salon
    restaurant kitchen farms farm data ai bio biotech sciences science security finance financial investments
    fund trust credit union city county state department office club center centre hotel hotels travel
    transport freight accounting apps app devices electric power water homes home care
"""))

# found, not imported: the package's code is not needed, only its word list
_WORD_LIST = Path(importlib.util.find_spec("symspellpy").submodule_search_locations[0],  # type: ignore[union-attr]
                  "frequency_dictionary_en_82_765.txt")
HYPHEN = "with a hyphen"
TWO_WORDS = "two words"
ONE_WORD = "one word"
# Endings long enough that a word ending in one is as likely two words run together ("Grantstudio"): Whisper
# writes a company glued when its prompt held the address's domain ("grantstudio.com")
# (not the endings brands glue on as often: "Initech", "Citibank", "Tidewater", "Soundcloud")
_OFTEN_GLUED = frozenset({"tech", "bank", "care", "home", "homes", "works", "water", "power", "data", "apps", "cloud",
                          "press", "shop", "store", "club", "city", "fund", "farm", "farms"})
_GENERIC_ENDINGS = sorted((w for w in _GENERIC_COMPANY_WORDS - _OFTEN_GLUED if len(w) >= 4), key=len, reverse=True)


def _ambiguous_pair(company: str) -> tuple[str, str] | None:
    """The first two neighbouring words of a company's name that could as well be one ("North Star")."""
    words = company.split()
    for left, right in itertools.pairwise(words):
        if all(w.isalpha() and len(w) >= 3 and w.lower() not in _GENERIC_COMPANY_WORDS for w in (left, right)):
            return left, right
    return None


def _glued(company: str) -> tuple[str, str, str] | None:
    """The first word of a company's name that ends in a word saying what it is, after three letters or more
    ("Grantstudio": "Grant" + "studio"), as (word, head, ending); it could as well be two words."""
    for word in company.split():
        low = word.lower()
        if not word.isalpha() or low in _GENERIC_COMPANY_WORDS:
            continue
        ending = next((e for e in _GENERIC_ENDINGS if low.endswith(e) and len(low) - len(e) >= 3), None)
        if ending:
            return word, word[: -len(ending)], word[-len(ending):]
    return None


def spaced_domain(domain: str) -> str:
    """An email domain's first label as the company it likely names, for the STT's prompt: two words when it ends
    in a word saying what the company is ("hollispartners": "Hollis Partners"), else the label ("Kettleworks",
    "Verderoofing": endings brands glue on as often, or no such ending). Primed with the glued label, Whisper
    wrote "Hollispartners" and "Turn Logistics" (for "Tern Logistics"); primed with the words, it wrote them right
    (docs/prompt-words.md: companies at the caller's own domain, first hearings, spent held-out callers)."""
    label = domain.capitalize()
    glued = _glued(label)
    return f"{glued[1]} {glued[2].capitalize()}" if glued and glued[0] == label else label


@lru_cache(maxsize=16)
def _english_ending(word: str) -> str | None:
    """The longest English word `word` ends in after three letters or more ("verderoofing": "roofing"), from
    SymSpell's list of 82,765 common words (in its PyPI package: nothing downloaded). The list is read per word,
    not kept (a call needs it only for a company heard as its domain glued); the answer is kept, since a read-back
    asks it three times."""
    endings = {word[i:] for i in range(3, len(word) - 2)}
    with _WORD_LIST.open(encoding="utf-8") as lines:
        known = [w for w in (line.split(" ", 1)[0] for line in lines) if w in endings]
    return max(known, key=len, default=None)


def _glued_as_domain(company: str, domain: str) -> tuple[str, str, str] | None:
    """A company heard as one word that is the caller's own email domain ("Verderoofing" at verderoofing.com),
    ending in an English word: Whisper, primed with the domain, writes the name glued, whether the caller's
    company is "Verde Roofing" or "Northwind". As (word, head, ending)."""
    if not domain or not company.isalpha() or company.lower() != domain.lower():
        return None
    ending = _english_ending(company.lower())
    return (company, company[: -len(ending)], company[-len(ending):]) if ending else None


def spacing_note(kind: str, value: str | int, domain: str = "") -> str | None:
    """How the value is written where hearing cannot tell, said after it in a read-back; None: nothing to say.
    `domain`: the first label of the caller's email domain, for a company heard as it."""
    text = str(value)
    if kind == "person_name" and "-" in text:
        return HYPHEN
    if kind == "company" and _glued_as_domain(text, domain):
        return ONE_WORD
    if kind == "company" and (pair := _ambiguous_pair(text)):
        return TWO_WORDS if len(text.split()) == 2 else f"{' '.join(pair)} as {TWO_WORDS}"
    if kind == "company" and (glued := _glued(text)):
        return ONE_WORD if len(text.split()) == 1 else f"{glued[0]} as {ONE_WORD}"
    return None


_JOIN = re.compile(r"\b(?:(?:it'?s |that'?s |is |as )?(?:all )?one word|joined|no space|together)\b", re.IGNORECASE)
_SPLIT = re.compile(r"\b(?:two (?:separate )?words|with a space|separate words|no hyphen|without (?:a |the )?hyphen"
                    r"|no dash|without (?:a |the )?dash)\b", re.IGNORECASE)
_HYPHENATE = re.compile(r"\b(?:with a (?:hyphen|dash)|hyphenated)\b", re.IGNORECASE)
_NOT_HYPHENATE = re.compile(r"\b(?:no|not|without)\s+(?:a\s+|the\s+)?(?:hyphen|dash)|not hyphenated", re.IGNORECASE)


# what may come with "one word" in a reply about spacing alone ("No, it's all one word.")
_AROUND = re.compile(r"\b(?:no|now|know|nope|yes|yeah|yep|right|correct|actually|sorry|it's|its|it is|that's|that is|"
                     r"it|is|as|all|just|the|a|and|but)\b|[^\w]+", re.IGNORECASE)


def spacing_reply(text: str) -> str | None:
    """What a reply to a read-back says of the spacing alone: "join", "split" or "hyphenate"; None when it says
    nothing of it, or more than it ("No, Open Fields, two words" corrects the words too)."""
    patterns = (("join", _JOIN), ("split", _NOT_HYPHENATE), ("split", _SPLIT), ("hyphenate", _HYPHENATE))
    said = [how for how, pattern in patterns if pattern.search(text)]
    rest = text
    for _, pattern in patterns:
        rest = pattern.sub(" ", rest)
    return said[0] if said and not _AROUND.sub("", rest) else None


def respace(kind: str, value: str, how: str, domain: str = "") -> str:
    """`value` with its ambiguous spacing written the way the caller said ("join" "North Star" → "Northstar")."""
    if kind == "company" and how == "split" and (glued := _glued_as_domain(value, domain)):
        return f"{glued[1]} {glued[2].capitalize()}"  # "Verderoofing, one word" → "no, two words": "Verde Roofing"
    if kind == "person_name" and "-" in value:
        left, _, right = value.partition("-")
        return {"join": left + right.lower(), "split": f"{left} {right}"}.get(how, value)
    if kind == "company" and how == "split" and not _ambiguous_pair(value) and (glued := _glued(value)):
        word, head, ending = glued  # "Grantstudio, one word" → "no, two words": "Grant Studio"
        return value.replace(word, f"{head} {ending.capitalize()}", 1)
    if kind == "person_name" and how == "hyphenate" and len(value.split()) >= 2:
        pair: tuple[str, str] | None = tuple(value.split()[-2:])  # "Al Farsi, with a hyphen": the last two
    else:
        pair = _ambiguous_pair(value) if kind == "company" else None
    joined = {"join": pair[0] + pair[1].lower(), "hyphenate": f"{pair[0]}-{pair[1]}"}.get(how) if pair else None
    return value.replace(f"{pair[0]} {pair[1]}", joined, 1) if pair and joined else value
