"""Choosing what the caller said from several readings of one utterance, as a careful operator would.

The STT gives its N best readings (Whisper's beam hypotheses, best first). For a field we keep the first reading
the field's normaliser accepts, and the share of readings that give the same value is the field's confidence
(with one reading — a cloud STT, a typed answer — the normaliser's own confidence stands). A spelled answer is
decoded letter by letter; a spelled part of a name replaces the word it spells; a spelled local part keeps the
domain heard before. A "yes" counts only when the readings agree that it is one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from onboarding.interview.definition import FieldSpec
from onboarding.interview.emails import COMMON_DOMAIN_WORDS
from onboarding.interview.normalize import Normalized, classify_reply, normalize_value
from onboarding.interview.people import capitalize_name_word
from onboarding.interview.prompts import join
from onboarding.interview.spacing import respace, spaced_domain
from onboarding.interview.spelling import OTHER_WAYS, Spelled, decode_spelled
from onboarding.interview.timezones import zones_of_number
from onboarding.interview.validate import unknown_domain_ending

SPELLED_CONFIDENCE = 0.9  # spelled letters are the caller's own choice, but Whisper may still drop one
GUESS_CONFIDENCE = 0.5  # below the default read-back threshold: a value guessed from earlier answers is read back
# Whisper writes a name it does not know as the common words it sounds like: "Tobias" as "to buy his"
MAX_WORDS_ONE_NAME_HEARD_AS = 3
WHOLE_ADDRESS_LIKENESS = 1.4  # of 2: a spelled address without "at" reads this much like the one heard before


@dataclass(frozen=True)
class Heard:
    """The value a field takes from an utterance, the reading it came from and how sure we are."""

    value: Normalized
    reading: str
    agreeing: int  # readings that give this same value
    readings: int

    @property
    def confidence(self) -> float:
        share = self.agreeing / self.readings if self.readings > 1 else 1.0
        return round(min(self.value.confidence, share), 2)


def distinct(readings: list[str]) -> list[str]:
    """Readings without empties and exact repeats, best first."""
    seen: list[str] = []
    for text in readings:
        text = (text or "").strip()
        if text and text not in seen:
            seen.append(text)
    return seen


def _value_key(value: str | int, between: str) -> str:
    return re.sub(r"[^a-z0-9@+]+", between, str(value).lower()).strip()


def same_value(a: str | int, b: str | int) -> bool:
    """Two readings agree when their values differ only in case and punctuation ("Better reporting" and
    "Better Reporting" are one answer, "Acme Corp" and "Acne Corp" are not)."""
    return _value_key(a, " ") == _value_key(b, " ")


def sounds_the_same(a: str | int, b: str | int) -> bool:
    """What a caller hears as one value: case, punctuation and spacing aside ("voice mail" is "voicemail")."""
    return _value_key(a, "") == _value_key(b, "")


def _not_refused(tries: list[tuple[str, Normalized]], refused: Sequence[str | int]) -> tuple[str, Normalized]:
    """The first try whose value the caller has not said no to: after "no" to "Fear calls going to voicemail",
    the answer said again is read from the next reading ("Fewer calls …"), not read back the same. When every
    reading gives a refused value, the first stands (the caller hears it again and may say yes this time)."""
    return next((t for t in tries if not any(sounds_the_same(t[1].value, no) for no in refused)), tries[0])


def hear_value(spec: FieldSpec, readings: list[str], refused: Sequence[str | int] = ()) -> Heard | None:
    """The first reading the field's normaliser accepts (and the caller has not `refused`), with the agreement of
    all readings as confidence."""
    values = [normalize_value(spec, text) for text in readings]
    tries = [(text, value) for text, value in zip(readings, values, strict=True) if value is not None]
    if not tries:
        return None
    text, value = _not_refused(tries, refused)
    agreeing = sum(1 for other in values if other is not None and same_value(other.value, value.value))
    return Heard(value, text, agreeing, len(readings))


def gives_value(spec: FieldSpec, readings: list[str]) -> bool:
    """Some reading gives `spec` a value: the readings of a further STT prompt would come after it, never be kept."""
    return any(normalize_value(spec, text) is not None for text in readings)


def parted_at_its_ending(heard: Heard | None, domain: str) -> Heard | None:
    """A company heard as the caller's domain glued and ending in a word saying what it is ("Rinaldistudio" at
    rinaldistudio.it: primed with the domain, Whisper writes it glued) is parted at that ending and read back."""
    if heard is None or not domain or str(heard.value.value).lower() != domain:
        return heard
    split = respace("company", str(heard.value.value), "split")
    if split == heard.value.value:
        return heard
    return Heard(Normalized(split, min(heard.value.confidence, GUESS_CONFIDENCE)), heard.reading, 1,
                 heard.readings)


def _resemblance(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio()


# A spelled word this unlike every run of the name read back (and not starting like it) spells no word of it that was
# heard: it is the surname, heard as whatever followed the first name
NOTHING_ALIKE = 0.4


def _merge_name(previous: str | None, spelled: str) -> str:
    """A spelled word replaces what it spells in the earlier name: the word it resembles most, or the run of
    words an unfamiliar name was heard as ("To Buy His Hallberg", then T-O-B-I-A-S: "Tobias Hallberg"); a
    spelled whole name ("anna space lee") stands alone."""
    words = [capitalize_name_word(w, i == 0) for i, w in enumerate(spelled.split())]
    if len(words) > 1 or not previous:
        return " ".join(words)
    old = previous.split()
    if len(old) == 1 and _resemblance(old[0], spelled) < 0.5 and old[0][:1].lower() != spelled[:1]:
        return f"{old[0]} {words[0]}"  # "I heard Priya", then R-A-M-A-N: the missing surname, not a fix of Priya
    # a run of up to 3 words, never the whole of a longer name (one spelled word is no first name and surname)
    runs = [(start, end) for start in range(len(old))
            for end in range(start + 1, min(start + MAX_WORDS_ONE_NAME_HEARD_AS, len(old)) + 1)
            if len(old) == 1 or end - start < len(old)]

    def score(run: tuple[int, int]) -> float:  # a run with the same first letter first ("garsia" fixes Garza)
        heard = "".join(old[run[0]:run[1]])
        return _resemblance(heard, spelled) + (heard[:1].lower() == spelled[:1]) * 0.5

    start, end = max(runs, key=lambda run: (score(run), -(run[1] - run[0])))  # on a tie, the fewest words
    if score((start, end)) < NOTHING_ALIKE:  # "Elliot Me", then F-E-L-D-M-A-N: the surname, not a fix of Elliot
        start, end = 1, len(old)
    return " ".join([*old[:start], words[0], *old[end:]])


def merge_name_word(previous: str, heard: str) -> str:
    """One word said to correct a longer name read back replaces the word it resembles; anything else stands."""
    if len(heard.split()) != 1 or len(previous.split()) < 2:
        return heard
    return _merge_name(previous, heard.lower())


def _merge_email(previous: str | None, spelled: str) -> str:
    """A spelled local part ("M A R I A") keeps the domain heard before; a spelled whole address stands, and so
    does one whose "at" was lost: "kwame.osei.brightwell.io" after "kwame.osei@brightwell.eel" is split at the dot
    where it reads most like the address heard before, not given that domain a second time; with no such dot, at
    the letter where it does ("ingrid.solbergnordlys.no": the dot went with the "at"). A spelled domain alone
    ("okonkwotutoring.com" after "amara@acconkwotutoring.com": the caller spelled the part that was wrong) keeps
    the part before the at: it ends in a real domain ending and reads more like the domain than the local part."""
    if "@" in spelled or not previous or "@" not in previous:
        return spelled
    local, _, domain = previous.partition("@")

    def likeness(cut: int, skip: int) -> float:
        return _resemblance(spelled[:cut], local) + _resemblance(spelled[cut + skip:], domain)

    cuts = [(i, 1) for i, char in enumerate(spelled) if char == "." and "." in spelled[i + 1:]]  # at a dot
    cuts += [(i, 0) for i in range(1, len(spelled)) if "." in spelled[i:] and "." not in spelled[i - 1:i + 1]]
    if cuts and likeness(*(best := max(cuts, key=lambda cut: likeness(*cut)))) >= WHOLE_ADDRESS_LIKENESS:
        return f"{spelled[:best[0]]}@{spelled[sum(best):]}"
    if ("." in spelled.strip(".") and unknown_domain_ending(spelled) is None
            and _resemblance(spelled, domain) > _resemblance(spelled, local)):
        return f"{local}@{spelled}"
    return f"{spelled}@{domain}"


def _spelled_value(spec: FieldSpec, spelled: Spelled, previous: str | int | None) -> Normalized | None:
    """The value a decoded spelling gives `spec`, merged with what was heard before it (a name's other words, an
    address's other part); None when it makes none."""
    if spec.kind == "person_name":  # a full stop Whisper put after a letter is no part of a name
        letters = re.sub(r"[^\w' -]", "", spelled.text)
        candidate = _merge_name(str(previous) if previous else None, letters)
    elif spec.kind == "email":
        candidate = _merge_email(str(previous) if previous else None, spelled.text.replace(" ", ""))
    elif spelled.words or "@" in spelled.text:
        return None  # words said whole are the answer said again, not spelled ("I work at Acme Corp": no "@")
    else:
        candidate = spelled.text
    value = normalize_value(spec, candidate)
    return Normalized(value.value, SPELLED_CONFIDENCE) if value is not None else None


def hear_spelled(spec: FieldSpec, readings: list[str], previous: str | int | None,
                 refused: Sequence[str | int] = ()) -> Heard | None:
    """A spelled answer for `spec`: the first reading that decodes to letters and makes a valid value (and is
    no value the caller has `refused`); when every such value was refused, the same readings with the letters
    said plainly among key words kept or a W before a key word read as that letter (`decode_spelled`'s other
    readings): a caller who said no to a spelling read one way is heard the other way."""
    tries, other_ways = [], []
    for text in readings:
        spelled = decode_spelled(text)
        if spec.kind == "email" and spelled is not None and normalize_value(spec, spelled.text) is None:
            spelled = decode_spelled(text, d_is_dot=True) or spelled  # "joinery, D, C as in Charlie": a dot
        if spelled is None:
            continue
        if (value := _spelled_value(spec, spelled, previous)) is not None:
            tries.append((text, value))
        for way in OTHER_WAYS:
            plain = decode_spelled(text, **way)
            if plain is not None and plain.text != spelled.text and (
                    other := _spelled_value(spec, plain, previous)) is not None:
                other_ways.append((text, other))
    if not tries and not other_ways:
        return None
    text, value = _not_refused(tries + other_ways, refused)
    agreeing = sum(1 for _, other in tries if same_value(other.value, value.value))
    return Heard(value, text, max(1, agreeing), max(1, len([r for r in readings if decode_spelled(r)])))


def is_yes(readings: list[str]) -> bool:
    """A yes only when most readings hear a yes: "Brown" heard once as "right on" is not a confirmation."""
    if not readings:
        return False
    votes = sum(1 for text in readings if classify_reply(text) == "yes")
    return classify_reply(readings[0]) == "yes" and votes * 2 > len(readings)


def primed_by_earlier_answers(spec: FieldSpec, values: dict) -> str:
    """Earlier answers the next one is likely to repeat, for the STT's prompt: the name in an address, the
    address's domain in the company's name (in words: `spaced_domain`), the number's city in the time zone. The
    caller's surname for a company at a mailbox provider is a second prompt of its own (`hearing_plan`)."""
    if spec.kind == "email" and (name := values.get("full_name")):
        words = str(name).lower().split()
        return f"{name}: {'.'.join(words)}, {''.join(words)}, {words[0]}. {MAILBOX_PROVIDERS}"
    if spec.kind == "company" and (domain := company_domain(values)):
        return f"Company: {spaced_domain(domain)}."
    if spec.kind == "timezone" and (cities := phone_cities(values)):
        return f"{', '.join(cities)}."
    return ""


# After the name's address patterns in an address's first prompt: with them, 137 → 144 of 428 addresses right on
# the first hearing (every held-out address, 4 voices, then the name alone, then unprimed:
# docs/email-priming-shipped.md)
MAILBOX_PROVIDERS = "Gmail, Outlook, Yahoo, Hotmail, iCloud, Proton."


def company_domain(values: dict) -> str:
    """The first label of the caller's email domain when it can name their company ("fraserjoinery"; no company is
    called Gmail or Example): "" otherwise."""
    domain = str(values.get("email", "")).partition("@")[2].split(".")[0]
    return domain if domain and domain not in COMMON_DOMAIN_WORDS else ""


def phone_cities(values: dict) -> list[str]:
    """The cities of the time zones the caller's number belongs to ("+47…": Oslo; "+1 312…": Chicago), at most
    three: a one-word answer such as "Oslo." was heard "Asshole." and "Us low." without them."""
    cities = [zone.rpartition("/")[2].replace("_", " ") for zone in zones_of_number(str(values.get("phone") or ""))]
    return cities if len(cities) <= 3 else []


@dataclass(frozen=True)
class HearingPlan:
    """How an answer to one field is heard: the STT prompts it is decoded with, in turn; `enough`, when the
    readings so far make the later prompts moot (picklable, for the worker's inference process); and a word a
    reading holding it comes first for (the caller's surname in a company at a mailbox provider)."""

    prompts: tuple[str, ...] = ()
    enough: Callable[[list[str]], bool] | None = None
    first_holding: str = ""

    def ordered(self, readings: list[str]) -> list[str]:
        """The readings in the order the field's normaliser tries them."""
        return holding_first(readings, self.first_holding) if self.first_holding else readings


def hearing_plan(spec: FieldSpec, values: dict) -> HearingPlan:
    """How an answer to `spec` is heard, given the earlier answers: the field's `stt_prompt` with what they prime
    it with; then, for an address, the same with the name alone (see `plainly_primed`), then with no name, each
    decoded only while no reading gives an address (primed with "Wanjiru Kamau", "w kamau at swiftline dot co dot
    ke" was written "wanjirukamau" by both; +3 of 420 right on the first hearing in one run); for a company at a
    mailbox provider, unprimed, then with the caller's surname, decoded only while no reading holds it, the
    readings holding it first (see `surname_in_company`)."""
    first = join(spec.stt_prompt or "", primed_by_earlier_answers(spec, values))
    if surname := surname_in_company(spec, values):  # first "" when nothing else primes it: no prompt
        return HearingPlan((first, join(first, f"Company: {surname}.")), partial(holds_word, surname), surname)
    if not first:
        return HearingPlan()
    if plain := plainly_primed(spec, values):  # then unprimed: the name can be all Whisper writes
        unprimed = spec.stt_prompt or ""
        return HearingPlan((first, join(unprimed, plain), unprimed), partial(gives_value, spec))
    return HearingPlan((first,))


def surname_in_company(spec: FieldSpec, values: dict) -> str:
    """The caller's surname, when their company may carry it and nothing else primes it (an address at a mailbox
    provider): a second decoding is primed with it, and its readings count only if they hold it
    (`hearing_plan`). Primed outright, it made "Boateng Freight" right and "Acme Corp" said by a Miller
    "At Me Court" (docs/prompt-words.md)."""
    if spec.kind != "company" or company_domain(values) or not (name := str(values.get("full_name") or "")):
        return ""
    surname = name.split()[-1] if name.split() else ""
    return surname if len(surname) > 1 else ""


def holds_word(word: str, readings: list[str]) -> bool:
    """Some reading has `word` in it as a word of its own, any case ("Pryce and Daughters" holds "Pryce")."""
    pattern = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
    return any(pattern.search(text) for text in readings)


def holding_first(readings: list[str], word: str) -> list[str]:
    """The readings that hold `word` first, the rest after, each in its order: a reading with the caller's surname
    in the company is kept over a plainer one, and without such a reading the plain decoding's come first."""
    holding = [text for text in readings if holds_word(word, [text])]
    return holding + [text for text in readings if text not in holding]


def plainly_primed(spec: FieldSpec, values: dict) -> str:
    """The name alone for an address, for a second decoding: primed with "Isabel Moreno: isabel.moreno, …",
    Whisper wrote "isabel at moreno dot studio" as "isabel.moreno.studio"; primed with "Isabel Moreno." it
    did not (bench.email_priming: an address right on its first hearing, 132 held-out answers × 4 voices: 37.1 %
    with the patterns alone, 46.2 % when the name-only decoding is tried after them)."""
    if spec.kind == "email" and (name := values.get("full_name")):
        return f"{name}."
    return ""
