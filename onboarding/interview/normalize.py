"""Answers from spoken form to profile values: one pure function per kind of field.

Each returns `Normalized(value, confidence)` or None when the utterance does not contain a usable
value, so the interviewer can re-ask instead of storing noise. Confidence (0..1) is a heuristic:
formatted or explicit answers score high, guesses (ranges, "about", a guessed ".com") lower.

Team size ranges ("twenty five to thirty") resolve to the UPPER bound: the number is used for
capacity and plan sizing, where under-counting is the costlier mistake.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers

from onboarding.interview import emails, people, timezones, validate, work
from onboarding.interview.answer_text import (
    corrected_parts,
    earlier_sentences,
    later_sentences,
    one_word_corrected,
    put_down,
    with_one_word_said,
    without_asked_back,
)
from onboarding.interview.definition import FieldSpec, load_definition
from onboarding.interview.replies import classify_reply, strip_correction
from onboarding.interview.spoken import (
    DIGIT_WORDS,
    TEENS,
    TENS,
    TWO_HEARD,
    UNITS,
    beside_a_digit,
    find_numbers,
    spoken_digits,
    strip_edges,
    strip_fillers,
    tokens,
)

__all__ = [
    "Normalized",
    "classify_reply",
    "normalize_choice",
    "normalize_company",
    "normalize_email",
    "normalize_free_text",
    "normalize_integer",
    "normalize_person_name",
    "normalize_phone",
    "normalize_role",
    "normalize_text",
    "normalize_timezone",
    "normalize_value",
    "normalizer_for_kind",
    "speakable",
    "spell_out_email",
    "strip_correction",
]

spell_out_email = emails.spell_out_email


@dataclass(frozen=True)
class Normalized:
    """A value ready for the profile, and how sure we are about it (0..1)."""

    value: str | int
    confidence: float


def _wrap(result: tuple[str, float] | None) -> Normalized | None:
    return Normalized(*result) if result else None


def normalize_email(text: str) -> Normalized | None:
    return _wrap(emails.normalize_email(text))


def normalize_person_name(text: str) -> Normalized | None:
    return _wrap(people.normalize_person_name(text))


def normalize_company(text: str) -> Normalized | None:
    return _wrap(work.normalize_company(text))


def normalize_role(text: str) -> Normalized | None:
    return _wrap(work.normalize_role(text))


def normalize_timezone(text: str) -> Normalized | None:
    return _wrap(timezones.normalize_timezone(text))


_ONE = re.compile(r"\b(?:just me|only me|me alone|myself|just myself|solo|one person|me only|only myself|"
                  r"i'm alone|i am alone|by myself|on my own|just one)\b")
_KIN = (r"(?:co-?founder|partner|business partner|colleague|friend|wife|husband|brother|sister|son|daughter|dad|"
        r"father|mum|mom|mother|assistant|apprentice|other)")
_TWO = re.compile(rf"\b(?:(?:me|myself) and (?:my |a |one )?{_KIN}|my (?:business )?{_KIN} and (?:i|me|myself)|"
                  r"the two of us|just us two)\b")  # a bare "two of us" is the number's: "forty two of us" is 42
# more counted on top: "my wife and I, plus our two apprentices", "the two of us plus three part-timers"
_PLUS_MORE = re.compile(r"\bplus\s+(?:our|my|the|also|another|an?other)?\s*(?P<n>[\w-]+)")
# the caller's own total after the parts: "five in the shop and two on the road, so seven"
_TOTAL = re.compile(r"\b(?:so|that's|that is|that makes|which makes|makes|call it|say)\s+(?:call it\s+|say\s+)?"
                    r"(?:it\s+)?(?:about\s+)?"
                    r"(?P<n>[\w-]+(?:\s+[\w-]+)?)(?:\s+(?:in total|total|all together|altogether|all told|people|"
                    r"of us))?\W*$")
# the team named among other numbers: "three hundred and twenty units and a team of eight"
_TEAM_OF = re.compile(r"(?:^|\b(?:a|the|our|my)\s+)(?:team|staff|crew|workforce|headcount) of\s+"
                      r"(?:about\s+|around\s+|just\s+)?"
                      r"(?P<n>[\w-]+(?:\s+[\w-]+){0,2})")
# the caller counted on top of those they named: "Half a dozen nail techs plus me.", "twelve, not counting me"
_AND_ME = re.compile(r"\b(?:plus|not counting|not including|excluding|besides)\s+(?:me|myself)\b")
# so many people to each of so many things: "Five boats, two crew each" is ten
_EACH = re.compile(r"\b(?P<a>[\w-]+)\s+(?P<things>[a-z]+),?\s+(?:with\s+)?(?P<b>[\w-]+)\s+(?:[a-z-]+\s+)?"
                   r"(?:each|on each|in each|per (?!(?:day|shift|night|week|month|year)s?\b)[a-z]+)\b"
                   r"(?!\s+(?:day|shift|night|week|month|year)s?\b)")
_TIMES = {"days", "weeks", "months", "years", "shifts", "nights", "hours"}
# parts of a team said one after the other: "twelve engineers and three designers" (not "… and three offices")
_NOT_PEOPLE = {"offices", "office", "locations", "location", "sites", "branches", "stores", "shops", "vans", "trucks",
               "years", "clients", "customers", "countries", "cities", "states", "departments", "teams", "products",
               "restaurants", "clinics", "schools", "hotels", "warehouses", "days", "weeks", "months", "units",
               "properties", "rooms", "beds", "boats", "vehicles", "machines", "apartments", "flats", "homes",
               "houses", "tables", "acres"}
# "Me and three others", "myself plus two more": the caller and those they count ("only me" alone is one)
_ME_AND = re.compile(r"\b(?:me|myself|i)\s+(?:and|plus)\s+(?P<n>[\w-]+)\s+(?:others?|more|other people|[a-z-]+s)\b")
# A count heard as the word it sounds like ("just four of us" heard "just for us"), only before who is counted
_DIGIT_WORDS_HEARD = {"for": 4, "fore": 4, "to": 2, "too": 2, "tree": 3, "ate": 8}
_DIGIT_HEARD_AS_WORD = re.compile(rf"\b({'|'.join(_DIGIT_WORDS_HEARD)})\s+(?:of\s+)?(?:us|them|people|employees|"
                                  r"staff|members|folks|guys)\b")
# "a" before couple/few/handful is often heard as "the" ("the couple hundred"): both are accepted.
_MULTIPLES = [  # vague multiples, checked before number words so "a few hundred" is not read as 100
    (r"\b(?:a|the) (?:couple|few|handful) (?:of )?dozen\b", {"couple": 24, "few": 36, "handful": 60}),
    (r"\bhalf a dozen\b", 6), (r"\btwo dozen\b", 24), (r"\b(?:a|one) dozen\b|\bdozen\b", 12),
    (r"\b(?:a|the) (?:couple|few) (?:of )?hundred\b", {"couple": 200, "few": 300}),
    (r"\bseveral hundred\b", 500), (r"\bhundreds\b", 200), (r"\bthousands\b", 2000),
]
_VAGUE = [  # vague small quantities, only when no number was said
    (r"\b(?:a|the) couple(?: of)?\b", 2), (r"\b(?:a|the) few\b", 3), (r"\b(?:a|the) handful\b", 5),
    (r"\bseveral\b", 5),
]


def _team_of(low: str) -> re.Match[str] | None:
    """ "a team of eight" when every number said before it counts things, not people ("three hundred and twenty
    units and a team of eight"); not "Forty, the sales team of twelve is the biggest"."""
    team = _TEAM_OF.search(low)
    if team is None:
        return None
    if find_numbers(tokens(low[team.end():])) or len(find_numbers(tokens(team["n"]))) != 1:
        return None  # "Our team of ten engineers plus three in sales.", "a team of eight or nine"
    return team if _only_things_before(low, team.start()) else None


def _only_things_before(low: str, at: int) -> bool:
    """Every number said before `at` counts things, not people ("three hundred and twenty units and …")."""
    toks = tokens(low[:at])
    return all(end < len(toks) and (toks[end] in _NOT_PEOPLE or f"{toks[end]}s" in _NOT_PEOPLE)
               for _, _, end in find_numbers(toks))


def _vague(low: str, table: list[tuple[str, int | dict[str, int]]]) -> int | None:
    for pattern, amount in table:
        match = re.search(pattern, low)
        if match:
            if isinstance(amount, dict):
                return next(v for k, v in amount.items() if k in match.group(0))
            return amount
    return None
_APPROX = re.compile(r"\b(?:about|around|roughly|approximately|approx|maybe|like|almost|nearly|over|under|"
                     r"more than|less than|at least|ish|probably|give or take|or so|some)\b|~")
_RANGE_JOIN = {"to", "-", "or", "and", "through", "till", "until"}


def _parts_summed(toks: list[str], numbers: list[tuple[int, int, int]]) -> int | None:
    """The sum when the caller counts their team in parts ("five in the shop and two on the road", "twelve
    engineers and three designers"): each number followed by who or where they are, the next after an "and" or
    "plus"; None otherwise ("twenty staff and three offices", "twenty people and we hire more in summer")."""
    if len(numbers) < 2:
        return None
    for (_, _, end), (_, start, after) in itertools.pairwise(numbers):
        between = toks[end:start]
        if between[-1:] in (["another"], ["more"]):  # "eleven in the office and another four remote"
            between = between[:-1]
        if (len(between) < 2 or between[-1] not in ("and", "plus") or set(between) & {"we", "i", "they", "it"}
                or after >= len(toks) or toks[after] in _NOT_PEOPLE or toks[end] in _NOT_PEOPLE):
            return None
    return sum(number for number, _, _ in numbers)


# One part of a team counted in a list: "me", "three engineers", "a designer", "two part-timers"
_LIST_PART = re.compile(r"(?:me|myself|i|(?P<one>an?|one)\s+[a-z-]+|(?P<n>[a-z-]+(?:\s+[a-z-]+)?)\s+[a-z-]+s)")


# "a hundred", "a dozen", "a couple", "a van": the word after "a" is no one person
_NOT_A_PERSON = {"hundred", "thousand", "million", "dozen", "couple", "few", "handful", "lot", "bunch", "half",
                 "van", "truck", "car", "dog", "cat", "office", "shop", "store", "site", "bit"}


def _listed(low: str) -> int | None:
    """The team counted as a list of who is in it ("Me, three engineers and a designer." is 5): every part the
    caller, a number of people or one person; None when the reply is anything else."""
    parts = [p.strip() for p in re.split(r",\s*(?:and\s+|plus\s+)?|\s+(?:and|plus)\s+", low.strip(" .!?")) if p.strip()]
    if len(parts) < 2:
        return None
    total, counted = 0, False
    for part in parts:
        match = _LIST_PART.fullmatch(part)
        noun = part.split()[-1]
        if match is None or noun in _NOT_PEOPLE or f"{noun}s" in _NOT_PEOPLE or noun in _NOT_A_PERSON:
            return None
        if match["n"] is not None:
            said = find_numbers(tokens(match["n"]))
            if len(said) != 1 or said[0][1] != 0 or said[0][2] != len(tokens(match["n"])):
                return None
            total, counted = total + said[0][0], True
        else:
            total += 1
    return total if counted else None


def sounds_like_another_number(value: int) -> bool:
    """Thirteen to nineteen and thirty to ninety sound alike on a phone line ("fourteen", "forty"; Whisper wrote
    "40" for a caller's "fourteen" and it was stored): a careful operator reads such a number back."""
    return 13 <= value <= 19 or (30 <= value <= 90 and value % 10 == 0)


def number_said_digit_by_digit(text: str) -> Normalized | None:
    """A number the caller was asked to say one digit at a time: "One, four." is 14 (a count, so at most four
    digits and no leading zero); None when it is not digits alone."""
    said = phone_digits(re.sub(r"^\W*oh\b[,.!]?", "", text.strip(), flags=re.IGNORECASE))  # "Oh, one, four."
    if said is None or not said[0] or said[1] or len(said[0]) > 4 or said[0].startswith("0"):
        return None
    if re.search(r"[a-z]", re.sub(r"\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple|and|"
                                  r"then|it's|its|that's|so|um|uh|yes|yeah|sure|okay|ok|people|of us)\b", "",
                                  text.lower())):
        return None
    return Normalized(int(said[0]), 0.9)


_NUMBER = rf"(?:\d+|{'|'.join(sorted({*UNITS, *TEENS, *TENS}, key=len, reverse=True))})"
# "We're twelve, sorry, thirteen now", "were 12 sorry 13 now": a count put right with a bare "sorry"
_COUNT_PUT_RIGHT = re.compile(rf"^.*\b{_NUMBER}(?:[\s-]+{_NUMBER})?[,.;!]?\s+sorry[,.;!]?\s+(?={_NUMBER}\b)")


def normalize_integer(text: str, minimum: int | None = None, maximum: int | None = None) -> Normalized | None:
    """ "about twenty" -> 20, "twenty five to thirty" -> 30 (upper bound), "just me" -> 1, "a dozen" -> 12."""
    if not text or not text.strip():
        return None
    low = strip_fillers(text.lower().replace("’", "'"))
    low = re.sub(r"(\d)\s*-\s*(\d)", r"\1 to \2", low)
    low = re.sub(r"(\d),(\d{3})\b", r"\1\2", low)
    low = _COUNT_PUT_RIGHT.sub("", low)
    approx = bool(_APPROX.search(low))
    value: int | None = None
    confidence = 0.9
    counted_from = 0  # where what the caller counts on top of themselves ("plus …") may start
    # the caller's own total ("…, so call it fourteen"), or the team named among other numbers ("… a team of eight")
    if (total := _TOTAL.search(low) or _team_of(low)) and (
            said := find_numbers(tokens(total.group("n")))) and said[0][1] == 0:
        value, confidence = said[0][0] + bool(total.re is _TEAM_OF and _AND_ME.search(low)), 0.85
    elif (each := _EACH.search(low)) and each["things"] in _NOT_PEOPLE - _TIMES and _only_things_before(
            low, each.start()) and (a := find_numbers(tokens(each["a"]))) and (b := find_numbers(tokens(each["b"]))):
        value, confidence = a[0][0] * b[0][0] + bool(_AND_ME.search(low)), 0.6  # worked out here: read back
    elif (listed := _listed(low)) is not None:
        value, confidence = listed, 0.8  # added up here, not said
    elif (me_and := _ME_AND.search(low)) and (others := find_numbers(tokens(me_and.group("n")))):
        value, confidence, counted_from = others[0][0] + 1, 0.85, me_and.end()
    elif two := _TWO.search(low):
        value, confidence, counted_from = 2, 0.85, two.end()
    elif one := _ONE.search(low):
        value, confidence, counted_from = 1, 0.9, one.end()
    elif (multiple := _vague(low, _MULTIPLES)) is not None:
        value, confidence = multiple + bool(_AND_ME.search(low)), 0.6
    else:
        toks = tokens(low)
        numbers = find_numbers(toks)
        # "three offices and forty staff": a number of places is not the team's
        numbers = [n for n in numbers if n[2] >= len(toks) or toks[n[2]] not in _NOT_PEOPLE] or numbers
        if numbers:
            value = numbers[0][0]
            for (first, _, end), (second, start, _) in itertools.pairwise(numbers):
                between = toks[end:start]
                if between and all(t in _RANGE_JOIN for t in between) and second > first:
                    if second > 2 * first:  # "anywhere from five to forty": no number a careful operator would store
                        return None
                    value, confidence = second, 0.7
                    break
            else:
                if (summed := _parts_summed(toks, numbers)) is not None:
                    value, confidence = summed, 0.8  # added up here, not said
                elif len(numbers) == 1 and _AND_ME.search(low):
                    value, confidence = value + 1, 0.8
        elif (vague := _vague(low, _VAGUE)) is not None:
            value, confidence = vague, 0.6
        elif heard := _DIGIT_HEARD_AS_WORD.search(low):  # "just for us": "four of us", read back for a yes
            value, confidence = _DIGIT_WORDS_HEARD[heard.group(1)], 0.4
    if value is not None and counted_from and (more := _PLUS_MORE.search(low, counted_from)) and (
            extra := find_numbers(tokens(low[more.start("n"):]))) and extra[0][1] == 0:
        value += extra[0][0]
    if value is None:
        return None
    if approx:
        confidence = min(confidence, 0.75)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        return None
    return Normalized(value, confidence)


# What Whisper writes for a digit said among others ("double-far, seven", "sets 1", "free, 3"): only beside a digit
# ("to" is left out: "send it to 415 555 0132" says no 2)
_DIGIT_HEARD = {"far": "four", "fore": "four", "free": "three", "tree": "three", "sets": "six", "sex": "six",
                "fife": "five", "niner": "nine"}
_DIGIT_NEIGHBOURS = {*DIGIT_WORDS, "double", "triple"}


def _digit_of(tok: str) -> str | None:
    return tok if tok.isdigit() and len(tok) == 1 else DIGIT_WORDS.get(tok)


def _without_echo(toks: list[str]) -> list[str]:
    """Whisper sometimes writes a digit twice, as a word and as a numeral: "triple 5 five" for "triple five",
    "Free. 3, 4, 9" for "three, four, nine". The tokens with each such echo dropped (a caller's "triple five,
    five" says the same tokens in one form, so a digit repeated in the same form is kept)."""
    out: list[str] = []
    for at, tok in enumerate(toks):
        if (at >= 1 and _digit_of(tok) is not None and _digit_of(tok) == _digit_of(toks[at - 1])
                and tok.isdigit() != toks[at - 1].isdigit()):
            continue
        out.append(tok)
    return out


def phone_digits(text: str, drop_echo: bool = False) -> tuple[str, bool] | None:
    """The digits said ("oh" = 0, "double five") and whether they came after a "plus"/00 (a country code).
    `drop_echo`: read "triple 5 five" as "triple five" (`_without_echo`)."""
    if not text or not text.strip():
        return None
    low = strip_fillers(text.lower().replace("’", "'"))
    low = re.sub(r"\b(?:ext|extension)\b.*$", "", low)
    low = re.sub(r"(?<=\d)o|o(?=\d)", "0", low)  # "oh" written as the letter: "555123456O"
    low = re.sub(r"(?<=\d)a\b", " 8", low)  # "four eight" written "4a", "one eight" "1A": "eight" without its t
    low = re.sub(r"(?:(?<=\d)\s+|^)for\s+(?=\d)", " 4 ", low)  # "four" written as "for" before digits
    plus = bool(re.search(r"(?:^|\s)(?:\+|plus\b)|\b00(?=\d)|\bcountry code\b", low))
    # "plus forty-nine, thirty, …": a tens word, a pause, a digit are two numbers ("thirty", "two"), not 32
    low = re.sub(r"\b(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\s*[,;]\s+", r"\1 pause ", low)
    low = re.sub(r"[()\-./+]", " ", low.replace("plus", " "))
    toks = tokens(low)
    toks = [_DIGIT_HEARD[tok] if tok in _DIGIT_HEARD and beside_a_digit(toks, at, _DIGIT_NEIGHBOURS) else tok
            for at, tok in enumerate(toks)]
    # "two" as Whisper writes it, only with a digit on both sides: "send it to 415 555 0132" keeps its "to"
    toks = ["two" if tok in TWO_HEARD and beside_a_digit(toks, at, _DIGIT_NEIGHBOURS, both=True)
            else tok for at, tok in enumerate(toks)]
    if drop_echo:
        toks = _without_echo(toks)
    digits = spoken_digits(toks)
    if plus and digits.startswith("00"):
        digits = digits[2:]
    return digits, plus


def normalize_phone(text: str, region: str = validate.DEFAULT_REGION, home: str | None = None) -> Normalized | None:
    """E.164 from spoken digits, kept only when libphonenumber calls the number valid: with a "plus" for its
    country code, else in `region` (the field's default), else as a NANP number said with its leading 1, else in
    `home` (the caller's country as their email shows it: "020 7946 0123" from a ….co.uk caller). A number
    started again after "sorry, no" or "I mean" is the one said after it."""
    restarted = _RESTART.split(text)
    if len(restarted) > 1 and (again := normalize_phone(restarted[-1], region, home)) is not None:
        return again
    if len(restarted) > 1 and (fixed := _last_digits_corrected(restarted, region, home)) is not None:
        return fixed
    heard = phone_digits(text)
    if heard is None or not 7 <= len(heard[0]) <= 15:
        return None
    number = _phone_number(*heard, region, home)
    if number is None and not heard[1] and (country := timezones.country_of_place(text)) not in (None, region, home):
        number = _phone_number(*heard, region, country)  # "We're in London, so it's oh two oh, …"
    if number is None and (echoless := phone_digits(text, drop_echo=True)) != heard and echoless is not None:
        number = _phone_number(*echoless, region, home)  # "triple 5 five": one digit too many, written twice
        if number is not None:  # a repair, not what was heard: read it back
            number = Normalized(number.value, min(number.confidence, 0.5))
    return number


def _last_digits_corrected(parts: list[str], region: str, home: str | None) -> Normalized | None:
    """ "…, eight one three five. No, wait, eight one five three.": the caller said again only the end of the
    number; the number with its end so replaced, read back (it was put together here)."""
    said_before = " ".join(parts[:-1])
    before, after = phone_digits(said_before), phone_digits(parts[-1])
    if before is None or after is None:
        return None
    if 1 <= len(after[0]) <= 4 and len(before[0]) >= 7:
        digits = before[0][: -len(after[0])] + after[0]
    else:  # "seven one eight, four four two, no, wait, four four three, nine one oh six": the group said again
        groups = [group for group in re.split(r"[,;.]", said_before) if phone_digits(group)]
        kept = phone_digits(", ".join(groups[:-1])) if len(groups) > 1 else None
        if kept is None:
            return None
        digits = kept[0] + after[0]
    number = _phone_number(digits, before[1], region, home)
    return Normalized(number.value, min(number.confidence, 0.5)) if number else None


# "two oh six, sorry, no, three oh three, …": the caller started the number again
_RESTART = re.compile(r"\b(?:sorry,? no|no,? sorry|no,? wait|sorry|i mean|actually|scratch that|"
                      r"let me start again)\b[,.]?", re.IGNORECASE)


def _phone_number(digits: str, plus: bool, region: str, home: str | None) -> Normalized | None:
    if plus:
        number = validate.phone_number(digits, True)
        return Normalized(number, 0.9) if number else None
    number = validate.phone_number(digits, False, region)
    if number is None and len(digits) == 11 and digits.startswith("1"):
        number = validate.phone_number(digits, True)
    if number is None and home and home != region:
        number = validate.phone_number(digits, False, home)
    return Normalized(number, 0.85) if number else None


def phone_problem(text: str, region: str = validate.DEFAULT_REGION) -> str:
    """Why the heard number is not stored, for the re-ask."""
    heard = phone_digits(text) or ("", False)
    return validate.phone_problem(heard[0], heard[1], region)


_FREE_LEAD = re.compile(r"^(?:(?:so|well|okay|ok|yeah|yes|and|basically|honestly|i mean|you know|i guess|hmm|"
                        r"(?:mainly|mostly|primarily|ideally|like|oh|right|ah|alright)(?=,)|"
                        # "I'd say taking more …" (a "mainly" or "mostly" is kept: writers of held-out goals keep it)
                        r"(?:i'd say|i would say)(?=\s+(?:\w+ing|more|fewer|less|better|faster|to)\b))\b[,.?!]?"
                        r"\s*)+",
                        re.IGNORECASE)


# "Fewer calls…" opening a sentence is heard "Fear calls…" (Whisper tiny, Piper's voice); no goal opens so
_FEWER_HEARD = re.compile(r"^fear\s+(?!of\b|that\b|is\b)", re.IGNORECASE)
# The messaging app as Whisper writes it when it hears the words: "what's app", "Whats App"
_WHATSAPP_HEARD = re.compile(r"\bwhat'?s\s*app\b", re.IGNORECASE)


# A sentence of thinking aloud before the answer: "Oh, good question.", "Let me think.", "That's a good one."
_THINKING_FIRST = re.compile(r"^(?:(?:oh|ah|um|hmm|well|ok|okay|so|right),?\s+)*(?:(?:a |that's a |that is a )?"
                             r"(?:good|great|fair|interesting|big|tough) (?:question|one)|"
                             r"let me (?:think|see)|hmm+|gosh)(?:[.!?,]+\s+|\s+(?=(?-i:[A-Z])))",
                             re.IGNORECASE)


# A remark on how it is said, after the goal: "…, to be honest", "…, really", "…, I guess"
_FREE_TAIL = re.compile(r",\s*(?:to be honest|if i'm honest|honestly|really|i guess|i think|i suppose|basically|"
                        r"you know|mostly|i'd say)\W*$", re.IGNORECASE)


def normalize_free_text(text: str, min_chars: int = 4) -> Normalized | None:
    """Fillers, thinking aloud before it and trailing punctuation removed, first letter capitalised; too short is
    None."""
    if not text:
        return None
    body = strip_edges(_FREE_TAIL.sub("", _FREE_LEAD.sub("", _THINKING_FIRST.sub("", strip_fillers(text.strip())))))
    body = re.sub(r"\s+", " ", _WHATSAPP_HEARD.sub("WhatsApp", _FEWER_HEARD.sub("Fewer ", body)))
    if len(re.sub(r"[^A-Za-z0-9]", "", body)) < min_chars or classify_reply(body) != "other":
        return None
    # a goal of one or two words is easier to mishear than a sentence, though not so likely wrong that the caller
    # should hear it back when every reading gives it (the goal's read_back_below is 0.65: 3 of 5 readings is 0.6)
    return Normalized(body[0].upper() + body[1:], 0.8 if len(body.split()) >= 3 else 0.7)


def normalize_text(text: str) -> Normalized | None:
    """A short answer: fillers and "it's" removed, first letter capitalised."""
    if not text:
        return None
    body = strip_edges(re.sub(r"^(?:it's|it is|that's|that is)\s+", "", strip_fillers(strip_edges(text)),
                              flags=re.IGNORECASE))
    if not body or classify_reply(body) in ("dont_know", "repeat", "stop"):
        return None
    return Normalized(body[0].upper() + body[1:], 0.8)


def normalize_choice(text: str, choices: tuple[str, ...] | list[str]) -> Normalized | None:
    """The choice the caller named: exact word match first, then the choice sharing most words."""
    low = " " + " ".join(tokens(text)) + " "
    for choice in sorted(choices, key=len, reverse=True):
        if f" {' '.join(tokens(choice))} " in low:
            return Normalized(choice, 0.9)
    said = set(tokens(text))
    scored = [(len(said & set(tokens(choice))), choice) for choice in choices]
    best = max(scored, default=(0, ""))
    if best[0] and sum(1 for s, _ in scored if s == best[0]) == 1:
        return Normalized(best[1], 0.6)
    return None


_BY_KIND: dict[str, Callable[[str], Normalized | None]] = {
    "email": normalize_email, "person_name": normalize_person_name, "phone": normalize_phone,
    "free_text": normalize_free_text, "company": normalize_company, "role": normalize_role,
    "timezone": normalize_timezone, "text": normalize_text, "integer": normalize_integer,
}


def normalizer_for_kind(kind: str) -> Callable[[str], Normalized | None]:
    """The normaliser the interview applies to an answer of this kind.

    `kind` is a field kind ("email", "person_name", "company", "integer", ...) or the name of a field of
    the default interview ("team_size", "primary_goal"), which brings that field's rules (min/max,
    choices, pattern) through `normalize_value`. The keys of tests/corpus/answers.toml are of both sorts.
    Raises KeyError for anything else.
    """
    if kind in _BY_KIND:
        return functools.partial(_answer_in, _BY_KIND[kind], one_word_fixes=kind == "person_name",
                                 put_value=_PUT_CHECKS.get(kind), address=kind == "email")
    return functools.partial(normalize_value, load_definition().field(kind))


def _names_only(value: str) -> bool:
    """A name asked to be written is capitalised words ("but put Lan Nguyen"), not "Put Andy on the badge"."""
    words = value.split()
    return 1 <= len(words) <= 4 and all(word[:1].isupper() for word in words)


def _a_title(value: str) -> bool:
    """A title asked to be written ends in a title's word ("Say fleet manager."), not "Put founder too"."""
    return 1 <= len(value.split()) <= 4 and work.ends_in_title_word(value)


# What a value the caller asks to be written ("…, but put X") must look like, per kind; a kind not here never
# takes one (a count said after "Say" is a projection: "Twenty. Say twenty-five by summer.")
_PUT_CHECKS: dict[str, Callable[[str], bool]] = {"person_name": _names_only, "role": _a_title}


def _answer_in(normalizer: Callable[[str], Normalized | None], text: str, one_word_fixes: bool = False,
               put_value: Callable[[str], bool] | None = None, address: bool = False) -> Normalized | None:
    """The value in a whole reply, as a careful operator finds it: nothing in a reply that is no answer ("Hold on
    one moment.", "Why do you need that?"); after a question the caller asked back first ("Do you mean my
    employer? That's …"); the value said after a correction mid-answer ("It was twenty, no, twenty-four"); else
    the reply as said, else a later sentence of it ("I'm the one who booked the demo. Oskar Lindholm."), else the
    reply without a remark after the value ("… at outlook dot com. I know, I know."). With `put_value`, what the
    caller asks to be written after saying more comes first ("Baker, owner, cleaner, all of it. Put owner."), when
    it looks as `put_value` requires. An `address` said again after a "sorry" is the one taken."""
    text = with_one_word_said(without_asked_back(text or ""))
    if classify_reply(text) in _NOT_ANSWERS:
        return None
    if address and (again := _address_said_again(normalizer, text)) is not None:
        return again
    if put_value and (asked := put_down(text)) is not None and put_value(asked) and (
            value := normalizer(asked)) is not None:
        if one_word_fixes and isinstance(value.value, str) and (whole := normalizer(text)) is not None and len(
                words := str(whole.value).split()) > 1:
            said = value.value.lower().split()
            # "It's Benjamin Okafor. …, but put Benjamin.", "Giovanni De Luca, but put De Luca.": a part of the
            # whole name said before, in its order, is that name
            if any([w.lower() for w in words[at:at + len(said)]] == said for at in range(len(words))):
                return whole
            if len(said) == 1:  # "Rebecca Hollingsworth, but put Becky.": the name asked for, with the surname
                return _name_put_for(words, value, whole)
        return value
    corrected = corrected_parts(text)
    if corrected is not None and (value := _corrected_value(normalizer, *corrected, one_word_fixes)) is not None:
        return value
    if (value := normalizer(text)) is not None:
        return value
    # what was said before a correction is not the answer
    for part in (*later_sentences(text), *([] if corrected else earlier_sentences(text))):
        if (value := normalizer(part)) is not None:
            return value
    return None


def _corrected_value(normalizer: Callable[[str], Normalized | None], before: str, tail: str,
                     one_word_fixes: bool) -> Normalized | None:
    """The value said after a correction: the whole of it, or the word of the value said before it that it puts
    right, with `one_word_fixes` (a name: "Anneliese Brandt. No, sorry, Brand."), or the last clause of it ("No,
    sorry, I got promoted, practice director.")."""
    value = normalizer(tail)
    if value is None and "," in tail:
        value = normalizer(tail.rsplit(",", 1)[1])
    if value is None or not isinstance(value.value, str) or not one_word_fixes:
        return value
    earlier = normalizer(before)
    if earlier is not None and isinstance(earlier.value, str) and (
            merged := one_word_corrected(earlier.value, value.value)) is not None:
        return Normalized(merged, min(value.confidence, earlier.confidence))
    return value


def _name_put_for(words: list[str], put: Normalized, whole: Normalized) -> Normalized:
    """The whole name with the word the caller asked for in place of the given name it is a form of ("Rebecca" and
    "Becky" share "bec", "Rose" and "Rosie"), the words after it kept ("Gio de Luca"); the whole name when it is a
    form of none ("Zhang Wei, but put David": which is the surname is not known)."""
    asked = str(put.value)
    for at, word in enumerate(words[:-1]):
        common = difflib.SequenceMatcher(None, word.lower(), asked.lower()).find_longest_match()
        if common.size >= 3:  # the surname kept, with its particle ("Gio de Luca"), not the middle names
            kept = words[at + 1:] if words[at + 1].lower() in people.PARTICLES else words[-1:]
            return Normalized(" ".join([asked, *kept]), min(whole.confidence, put.confidence))
    return whole


_NOT_ANSWERS = ("repeat", "dont_know", "stop", "wait", "question")
_APOLOGY = re.compile(r"[,.;]\s+(?:oh[,.]?\s+)?sorry(?:[,.]?\s+(?:(?:i meant?|it's|it is)[,.]?\s+)?|[.!]?\s*$)",
                      re.IGNORECASE)


# a local part as said: one word, or words joined by "dot", "underscore", "dash" or "hyphen", or spelled letters
_LOCAL_PART_SAID = re.compile(r"[\w'-]+(?:,?\s+(?:(?:dot|underscore|dash|hyphen)\s+[\w'-]+|[a-z]\b))*", re.IGNORECASE)


_DOMAIN_PUT_RIGHT = re.compile(r"(?:not|no)\b|.*\bdot\s+(?:com|net|org|io|co|me|uk|au|ca|de|pl|nz|ie|in|za|edu|gov)\b",
                               re.IGNORECASE)


def _address_said_again(normalizer: Callable[[str], Normalized | None], text: str) -> Normalized | None:
    """"alex at gmail dot com, sorry, alexander dot green at gmail dot com": a whole address, a "sorry", then
    another is the caller's; so is a local part alone after it ("…, sorry, alexander dot green"), at the domain said
    before. Without this both addresses were read as one and glued ("alexatgmail.comsorryalexander.green@…")."""
    for apology in reversed(list(_APOLOGY.finditer(text))):
        first = normalizer(text[:apology.start()])
        if first is None or "@" not in str(first.value):
            continue
        after = text[apology.end():].strip(" .")
        if not re.search(r"\w", after):  # "…, sorry.": an apology for the pace, the address stands
            return first
        if not re.search(r"\bat\b|@", after, re.IGNORECASE):
            if not _LOCAL_PART_SAID.fullmatch(after) or _DOMAIN_PUT_RIGHT.match(after):
                return None  # "Sorry, that was fast.": no address; "sorry, not dot net, dot io": the domain
            after = f"{after} at {str(first.value).partition('@')[2]}"
        again = normalizer(after)
        return again if again is not None and "@" in str(again.value) else None
    return None


def normalize_value(spec: FieldSpec, text: str) -> Normalized | None:
    """Normalise for a field and apply its rules (min/max, choices, pattern), on the part of the reply that holds
    the answer (`_answer_in`). A reply that is no answer ("Hold on one moment.", "Why do you need that?", "I'd
    rather not say.") is none for any field: the interview classifies it first in a call, and a typed correction
    or the REST door must not store it either."""
    return _answer_in(functools.partial(_normalize_for, spec), text, one_word_fixes=spec.kind == "person_name",
                      put_value=_PUT_CHECKS.get(spec.kind), address=spec.kind == "email")


def _normalize_for(spec: FieldSpec, text: str) -> Normalized | None:
    kind = spec.kind
    if kind == "integer":
        result = normalize_integer(text, spec.min, spec.max)
    elif kind == "choice":
        result = normalize_choice(text, spec.choices)
    elif kind == "phone":
        result = normalize_phone(text, spec.region or validate.DEFAULT_REGION, spec.home_region)
    else:
        result = _BY_KIND.get(kind, normalize_text)(text)
    if result is not None and spec.pattern and not re.fullmatch(spec.pattern, str(result.value)):
        return None
    return result


def _speakable_phone(number: str, region: str | None) -> str:
    lead = "plus " if number.startswith("+") else ""
    body = number.lstrip("+")
    with contextlib.suppress(phonenumbers.NumberParseException):
        parsed = phonenumbers.parse(number, region)
        if phonenumbers.is_valid_number(parsed):  # grouped as the country writes it: "+44 7911 123456"
            home = bool(region) and parsed.country_code == phonenumbers.country_code_for_region(region or "")
            style = phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
            groups = re.findall(r"\d+", phonenumbers.format_number(parsed, style))
            return ("" if home else "plus ") + ", ".join(" ".join(g) for g in groups)
    if len(body) == 11 and body.startswith("1"):
        groups = [body[0], body[1:4], body[4:7], body[7:]]
    elif len(body) == 10:
        groups = [body[:3], body[3:6], body[6:]]
    else:
        groups = [body[i:i + 3] for i in range(0, len(body), 3)]
        if len(groups) > 1 and len(groups[-1]) == 1:
            groups[-2:] = [groups[-2] + groups[-1]]
    return lead + ", ".join(" ".join(g) for g in groups)


def speakable(value: str | int, kind: str, region: str | None = None) -> str:
    """How to read a value back on the phone: spelled emails, grouped phone digits (a number of the field's
    `region` as the caller said it, without its country code), city names."""
    if kind == "email":
        return spell_out_email(str(value))
    if kind == "phone":
        return _speakable_phone(str(value), region)
    if kind == "timezone":
        return timezones.speakable_timezone(str(value))
    return str(value)
