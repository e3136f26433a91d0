"""Email addresses from speech: "maria dot garcia at example dot com" and what Whisper makes of it.

Callers say addresses in words, spell parts of them and add digits as words; Whisper sometimes
formats the address itself and sometimes mishears "dot com" as "dot calm", "at" as "that", "had" or "head", or glues
the name to the provider ("MariaGmail.com"). All roads lead to one
lowercase address, or None when it cannot be an address. The read-back spells the part people
most often get wrong (the local part) so the caller can catch a mishearing.
"""

from __future__ import annotations

import itertools
import re

from onboarding.interview import validate
from onboarding.interview.answer_text import without_what_it_is_not
from onboarding.interview.people import capitalize_name_word
from onboarding.interview.spelling import RADIO, SAID_AS, edit_distance, says_key_words
from onboarding.interview.spoken import (
    TEENS,
    TENS,
    UNITS,
    folded,
    join_spelled,
    spoken_digits,
    strip_edges,
    strip_fillers,
    strip_leads,
    without_spelled_echo,
)

EMAIL_RE = re.compile(r"[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
_FORMATTED = re.compile(r"[A-Za-z0-9][\w.%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Mailbox providers whose domain is "<name>.com": the one list every rule about addresses reads
PROVIDERS = ("gmail", "yahoo", "hotmail", "outlook", "icloud", "protonmail", "aol", "live", "msn", "fastmail")
COMMON_DOMAIN_WORDS = {*PROVIDERS, "example", "com", "org", "net", "edu", "gov", "co", "uk", "mail",
                       "me", "us", "de", "fr", "info", "biz", "proton", "fastmail", "company", "corp"}

_PREFIXES = [
    r"(?:yes|yeah|yep|sure|ok|okay|so|well|right|alright|oh|sorry)\b[,.]?",
    r"(?:it's|it is|that's|that is|this is|i'm)\b(?:\s+just\b)?",  # "I'm": Whisper's rendering of a leading "um"
    r"(?:my|the|our|your)?\s*(?:work\s+|business\s+|personal\s+)?e-?\s?mail"
    r"(?:\s+address(?:es\b)?)?(?:\s+is|'s)?\b:?",  # "address is" is often heard as "addresses"
    r"(?:you can )?(?:reach|email|contact|find) me (?:at|on)\b",
    r"(?:you can |please |just )?(?:send it|send (?:it|them|things|stuff) to|use|try)\b",
    r"(?:it's |it is )?(?:best|easiest|better) (?:to use|to write to|to email|is)\b",
    r"(?:the |my |our )?(?:address is|address's)\b",
    r"(?:my|the|our)\s+(?:[a-z]+\s+){0,2}one(?:'s| is)?\b[,:]?",  # "my personal one, …" ("one" is no digit here)
    # which mailbox, before the address: "Use my Gmail, dana k at …", "my Outlook one is …" (glued on before)
    rf"(?:my|the|our)\s+(?:personal\s+|work\s+|own\s+|usual\s+)?(?:{'|'.join(PROVIDERS)}|proton)"
    r"(?:\s+(?:one|address|account|inbox))?(?:\s*[,:;]|\.(?=\s)|(?:'s|\s+is)\b)",
]
# a letter's word after the address is what it stands for: "…, R for Rasmussen"
_SUFFIXES = (r"[,.]?\s*(?:thanks|thank you|please|that's it|cheers|[a-z] (?:for|as in) [a-z]+|"
             r"(?:that's|that is|it's) (?:my|the|our) (?:\w+ )?(?:one|email|e-mail|address|inbox))\W*$")
_GLUED_DOMAIN_WORDS = sorted(w for w in COMMON_DOMAIN_WORDS if len(w) >= 5)
_WORD_SUBS = [  # order matters: longer phrases first
    (r"\bat the rate(?: of)?\b|\bat (?:sign|symbol)\b|\bat-sign\b", " @ "),
    # Whisper glues the domain on: "at signexample.com", "at the rategmail.com"
    (rf"\bat (?:sign|the rate(?: of)?)(?=(?:{'|'.join(_GLUED_DOMAIN_WORDS)})\b)", " @ "),
    (r"\bdouble[- ](?:u|you)\b", " w "),
    (r"\bdot (?:calm|comm|come|cam|con|common)\b|\.(?:calm|comm|con)\b", " . com "),
    (r"\b(?:g[- ]mail|gee[- ]?mail|g male|gmale|jee mail)\b", " gmail "),
    (r"\bhot[- ]?(?:mail|meal)\b", " hotmail "),
    (r"\bf[ae]st[- ]?mail\b", " fastmail "),
    (r"\bout[- ]look\b", " outlook "),
    (r"\bi[- ]cloud\b", " icloud "),
    (r"\bya[- ]hoo\b", " yahoo "),
    (r"\bproton[- ]mail\b", " protonmail "),
    (r"\b(?:dot|period|point|full stop)\b", " . "),
    (r"\bunder[- ]?score\b", " _ "),
    (r"\b(?:dash|hyphen|minus)\b", " - "),
    (r"\bplus\b", " + "),
]
_SCALE_WORDS = {"hundred", "thousand"}  # after a number only: "max two thousand" is max2000
_NUMBER_WORDS = {*UNITS, *TEENS, *TENS, "double", "triple", *_SCALE_WORDS}
# Words Whisper writes for a spoken "at" (only used when the answer has no "at" and ends in a domain).
_AT_HEARD = r"that|had|head|hat|add|ad|et|it"
_DOMAIN_TAIL = r"\s*[a-z0-9-]+(?:\s+[a-z0-9-]+){0,2}(?:\s*\.\s*[a-z0-9-]+)+\s*$"  # "rinaldi studio dot it" too
_GLUED_PROVIDERS = [p for p in PROVIDERS if len(p) >= 5]  # "olive.com" is not "o@live.com"


def _spoken_to_address(text: str) -> tuple[str, float]:
    """Join the spoken pieces; returns the candidate and a confidence penalty for what had to be guessed
    (digits converted from words, an "at" inferred from "that" or from a glued provider)."""
    text = re.sub(r"[,;!?]", " ", join_spelled(strip_fillers(text)).lower())
    # "J. underscore Smith": Whisper's full stop after a spoken letter, not a spoken "dot"
    text = re.sub(r"\b([a-z])\.\s+(?=(?:under[- ]?score|dash|hyphen|plus)\b)", r"\1 ", text)
    for pattern, repl in _WORD_SUBS:
        text = re.sub(pattern, repl, text)
    penalty = 0.0
    if "@" not in text:
        ats = list(re.finditer(r"\bat\b", text))
        if not ats:  # "maria that gmail.com": a misheard "at" right before the domain
            ats = [m for m in re.finditer(rf"\b(?:{_AT_HEARD})\b", text) if re.fullmatch(_DOMAIN_TAIL, text[m.end():])]
            penalty = 0.15
        if not ats:  # "ethan atbrooks.gov": "at" glued to the domain after the local part
            ats = list(re.finditer(r"(?<=\w )at(?=[a-z][a-z0-9-]{2,}(?:\s*\.\s*[a-z0-9-]+)+\s*$)", text))
            penalty = 0.15
        if ats:
            last = ats[-1]
            text = text[: last.start()] + " @ " + text[last.end():]
        else:
            glued = _unglue_provider(text)
            if not glued:
                return "", 0.0
            text = glued
    local, at, domain = text.partition("@")  # "o nine" written by Whisper as "O9" (not in a domain: "o2.co.uk")
    text = re.sub(r"\bo(?=\d+\b)", "0", local) + at + domain
    text = re.sub(r"\b(double|triple) ([a-z])\b",
                  lambda m: m.group(2) * (2 if m.group(1) == "double" else 3), text)
    toks = text.split()
    out: list[str] = []
    i = 0
    while i < len(toks):
        j = i
        while j < len(toks) and ((toks[j] in _NUMBER_WORDS and (j > i or toks[j] not in _SCALE_WORDS)) or (
                # "o nine" -> 09 next to other digits
                toks[j] in ("o", "oh") and j + 1 < len(toks) and toks[j + 1] in _NUMBER_WORDS)):
            j += 1
        if j > i:
            out.append(spoken_digits(toks[i:j]))
            penalty, i = max(penalty, 0.05), j
        else:
            out.append(toks[i])
            i += 1
    address = "".join(out)
    local, at, domain = address.partition("@")
    address = re.sub(r"(?<=\d)[-.](?=\d)", "", local) + at + domain  # "two three" written as "2-3" or "2.3"
    address = re.sub(r"\.{2,}", ".", address).strip(".")
    address = address.replace(".@", "@").replace("@.", "@")
    return address, penalty


# "mariaheadexample.com": the misheard "at" glued in; the longest local part wins ("bob.smithatoutlook.com")
_GLUED_AT = re.compile(r"([a-z0-9._-]{2,})(?:head|had|hat|at)((?:" + "|".join(_GLUED_DOMAIN_WORDS)
                       + r")\s*\.\s*[a-z]{2,})\s*$")


def _unglue_provider(text: str) -> str | None:
    """ "mariagmail.com" (Whisper glued name and provider, "at" lost) -> "maria @ gmail.com"; "mariaheadexample.com"
    (the misheard "at" glued in too) -> "maria @ example.com"."""
    if (glued := _GLUED_AT.search(text)) is not None:
        return text[: glued.start()] + glued.group(1) + " @ " + glued.group(2)
    match = re.search(rf"([a-z0-9._-]+?)({'|'.join(_GLUED_PROVIDERS)})(\s*\.\s*com)\s*$", text)
    if not match or len(match.group(1).strip("._-")) < 2:
        return None
    return text[: match.start()] + match.group(1) + " @ " + match.group(2) + match.group(3)


# Mailbox providers most people's addresses are at. A domain a sound or two away from one of them ("ikloud.com",
# "propan.me") is the provider misheard, as Mailcheck suggests for typed addresses; the read-back lets the caller
# say no. Names shorter than five letters are left alone: "aon.com" is a company, not "aol.com".
WELL_KNOWN_DOMAINS = (
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "proton.me",
    "protonmail.com", "fastmail.com", "yandex.com", "comcast.net", "verizon.net", "btinternet.com",
    "hotmail.co.uk", "yahoo.co.uk",
)


def well_known_domain(domain: str) -> str | None:
    """The provider domain `domain` is a mishearing of (same ending, the name one letter off, two for names of
    six letters or more; or both the name and the ending one letter off), or None when it is none or already one."""
    name, _, suffix = domain.partition(".")
    if domain in WELL_KNOWN_DOMAINS or len(name) < 4:
        return None
    for known in WELL_KNOWN_DOMAINS:
        known_name, _, known_suffix = known.partition(".")
        if (known_suffix == suffix and len(name) >= 5
                and edit_distance(known_name, name) <= (2 if len(known_name) >= 6 else 1)):
            return known
    for known in WELL_KNOWN_DOMAINS:  # a letter lost from the name and one from its ending: "gmai.cm"
        known_name, _, known_suffix = known.partition(".")
        if edit_distance(known_name, name) == 1 and edit_distance(known_suffix, suffix) == 1:
            return known
    return None


_ROLE_MAILBOXES = frozenset({"info", "hello", "sales", "admin", "contact", "team", "support", "office", "mail",
                             "help", "billing", "accounts", "jobs", "press", "enquiries", "inquiries"})


def like_the_name(address: str, name: str) -> str | None:
    """`address` with each part of its local part that is a sound or a letter off a word of the caller's name
    made that word ("emily.cardor19" for Emily Carter → "emily.carter19"), or None when nothing changes. Most
    addresses hold the name, and the name was confirmed: an operator would ask "like your name?". One letter
    off for words of four or five letters, two for longer ones, with the first and last letters as heard
    ("sales" is not Sam Lee's "samlee"); shorter words are left as heard."""
    local, _, domain = address.rpartition("@")
    words = [folded(w) for w in re.findall(r"[^\W\d_]+", name)]
    candidates = [*words, "".join(words)] if len(words) > 1 else words
    parts = re.split(r"([._\-]|\d+)", local)
    for index, part in enumerate(parts):
        if len(part) < 4 or not part.isalpha() or part in candidates or part in _ROLE_MAILBOXES:
            continue
        for word in candidates:
            allowed = 2 if len(word) >= 6 else 1 if len(word) >= 4 else 0
            if part[0] == word[0] and part[-1] == word[-1] and edit_distance(part, word) <= allowed:
                parts[index] = word
                break
    snapped = "".join(parts)
    return f"{snapped}@{domain}" if snapped != local else None


def name_in_address(address: str, heard_names: list[str]) -> str | None:
    """The caller's name as their address writes it ("bronwyn.ashby@…" → "Bronwyn Ashby") when a name heard for
    them (one they said no to) is that name a letter or two off in every word ("Broonwybn Ashby"), else None:
    the reverse of `like_the_name`, for a name given up on before a confirmed address that holds it. Only an
    address whose local part is words parted by dots, dashes or underscores, one per word of the name heard."""
    parts = re.split(r"[._-]+", address.partition("@")[0].lower())
    if len(parts) < 2 or not all(part.isalpha() and len(part) >= 2 for part in parts):
        return None
    guess = " ".join(capitalize_name_word(part, index == 0) for index, part in enumerate(parts))
    if any(folded(heard) == folded(guess) for heard in heard_names):
        return None  # the caller said no to it already

    def alike(word: str, part: str) -> bool:
        word = folded(re.sub(r"[^\w]", "", word))
        return word[:1] == part[:1] and edit_distance(word, part) <= max(1, len(part) // 3)

    for heard in heard_names:
        words = str(heard).split()
        if len(words) == len(parts) and all(alike(w, p) for w, p in zip(words, parts, strict=True)):
            return guess
    return None


def like_the_domain(company: str, address: str) -> str | None:
    """`company` with the words that are a sound or two off the caller's own email domain written as the domain
    writes them ("Holly's Partners" at hollispartners.co.uk → "Hollis Partners", "Nordless Energy" at nordlys.no
    → "Nordlys Energy"), or None when nothing changes: a company's name is most often its domain, which the caller
    spelled out. The same allowance as `like_the_name`: first and last letters as heard, one letter off for four or
    five letters, two for longer; a mailbox provider's domain says nothing about the company. A short word heard
    beside the rest of the domain said right is the domain's too ("As Chambers" at ezechambers.com)."""
    label = folded(address.rpartition("@")[2].split(".")[0])
    words = company.split()
    if len(label) < 4 or label in COMMON_DOMAIN_WORDS:
        return None
    allowed = 2 if len(label) >= 6 else 1
    for size in range(min(3, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            span = [_letters_of(w) for w in words[start:start + size]]
            glued = "".join(span)
            if glued == label:
                return None
            if glued[:1] == label[:1] and glued[-1:] == label[-1:] and edit_distance(glued, label) <= allowed:
                written = _cut_like(label, span)
                return " ".join([*words[:start], *(w.capitalize() for w in written), *words[start + size:]])
    return _short_word_beside(words, label)


def _letters_of(word: str) -> str:
    return re.sub(r"[^a-z]", "", folded(word))


SHORT_WORD = 4  # letters: "As" for "Eze", not "Harbour" for "Harlow"


def _short_word_beside(words: list[str], label: str) -> str | None:
    """`words` with a short word made the rest of `label` when the word beside it is the label's other part as
    written ("As Chambers" at ezechambers.com → "Eze Chambers": Whisper lost the short, unfamiliar word); None
    when no word is such a part. A guess, read back like the others."""
    for at, word in enumerate(words):
        part = _letters_of(word)
        if len(part) <= SHORT_WORD or part == label:
            continue
        if label.endswith(part) and at > 0:
            rest, beside = label[: -len(part)], at - 1
        elif label.startswith(part) and at + 1 < len(words):
            rest, beside = label[len(part):], at + 1
        else:
            continue
        short = _letters_of(words[beside])
        if 0 < len(rest) <= SHORT_WORD and 0 < len(short) <= SHORT_WORD and short != rest:
            fixed = [*words]
            fixed[beside], fixed[at] = rest.capitalize(), part.capitalize()
            return " ".join(fixed)
    return None


def _cut_like(label: str, span: list[str]) -> list[str]:
    """`label` cut into as many words as the heard `span`, each as near the word heard there as any cut makes it
    ("ezzze chambers" heard, ezechambers: "eze chambers", not "ezech ambers"); of equal cuts the latest (letters
    Whisper lost are more often a word's end: "harb labs", harborlabs: "harbor labs")."""
    def cost(edges: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        pieces = [label[a:b] for a, b in zip((0, *edges), (*edges, len(label)), strict=True)]
        return sum(edit_distance(heard, piece) for heard, piece in zip(span, pieces, strict=True)), tuple(
            -edge for edge in edges)

    cuts = itertools.combinations(range(1, len(label)), len(span) - 1)
    edges = min(cuts, key=cost, default=())
    return [label[a:b] for a, b in zip((0, *edges), (*edges, len(label)), strict=True)]


# Whisper writes a spoken "S E" ending as the compass point it abbreviates ("eriksson bakery dot se" heard
# "bakery.southeast"): no domain ends in the word, so it is the country, read back
_COMPASS_ENDINGS = {"southeast": "se", "northeast": "ne"}


def _fix_domain(address: str) -> tuple[str, float]:
    """Repair common mishearings of the domain; returns the address and a confidence penalty."""
    local, _, domain = address.rpartition("@")
    penalty = 0.0
    domain = re.sub(r"\.(?:calm|comm|con|come|cam|coms)$", ".com", domain)
    if (ending := domain.rpartition(".")[2]) in _COMPASS_ENDINGS:  # "dot se" written "southeast"
        domain, penalty = domain[: -len(ending)] + _COMPASS_ENDINGS[ending], 0.2
    if domain in PROVIDERS:
        domain += ".com"
        penalty = 0.25
    if domain.endswith("com") and "." not in domain and len(domain) > 3:
        domain = domain[:-3] + ".com"
        penalty = 0.2
    if (known := well_known_domain(domain)) is not None:
        domain, penalty = known, max(penalty, 0.2)
    return f"{local}@{domain}", penalty


# "…dot com, that's R O B": letters after the address that spell (and confirm) its local part
# ("…, and Nkechi is N K E C H I": one word of it)
_SPELLED_AFTER = re.compile(r"[,.;]?\s*(?:that's|that is|spelled|spelt|so that's|"
                            r"(?:and\s+)?(?P<named>[A-Za-z]+)(?:\s+is|'s))\s*[,:]?\s+"
                            r"(?P<x>(?:[A-Za-z](?:[\s,.-]+|$)){2,})$", re.IGNORECASE)


# "…dot com, design all one word with ferreira", "…, all together": how to join words the address joins anyway
# How the part before the at is written, said before the "at": "bronwyn forty two, all one word, at bigpond …"
_SPACING_BEFORE_AT = re.compile(r"[,;]?\s+(?:all\s+)?(?:one word|together|no spaces?|all joined|lower ?case)[,;]?"
                                r"(?=\s+at\s)", re.IGNORECASE)
# How the address is written, said inside it between commas: "furlong joinery, all one word, dot ie", "K Asante, no
# dot, seventy seven at …", "colm dot osullivan, no apostrophe, at …"
_SPACING_INSIDE = re.compile(r",\s*(?:all\s+)?(?:one word|together|no spaces?|all joined|no dots?|no apostrophes?|"
                             r"no hyphens?|no dashes?)\s*,(?=\s*\S)", re.IGNORECASE)
_SPACING_AFTER = re.compile(r"(?:[,;]|\.(?=\s))\s*[\w' ]*?\b(?:one word|together|no spaces?|all joined|no dots?|"
                            r"no dash(?:es)?|no hyphens?|no apostrophes?|"
                            r"lower ?case|small letters|no accents?)\b[\w' ]*\W*$"
                            r"|\s+all (?:one word|together)\W*$", re.IGNORECASE)
# "the best one is omar dot haddad at …", "my work one's …": what comes before the last "is" ahead of the "at"
# is the caller talking, not the local part (an address never says "is")
_TALK_BEFORE = re.compile(r"^.*\b(?:is|one's)\s+(?=\S.*\bat\b)|^.*\b(?:name|names|one)[,.]?\s+so,?\s+(?=\S.*\bat\b)",
                          re.IGNORECASE)  # "It's my first and last name, so daniel dot …"


_KEYED_LETTER = re.compile(r"\b([A-Za-z])[,.]?\s+(?:as|is|has)\s+(?:in|an)\s+([A-Za-z]+)\b")


_ENDING = r"dot\s+[a-z]+(?:\s+dot\s+[a-z]+)*"
# The ending put right after the address: "… dot com. No, sorry, it's dot ie, not dot com.", "… not dot com, dot ie"
_ENDING_CORRECTED = re.compile(
    rf"[,.]?\s+(?:(?:no|oh|sorry|actually|wait)[,.]?\s+)*(?:(?:it's|it is|that's|that is|it should be)\s+)?"
    rf"(?:(?P<new>{_ENDING})[,.]?\s+not\s+(?P<old>{_ENDING})|not\s+(?P<old2>{_ENDING})[,.]?\s+(?:(?:it's|but)\s+)?"
    rf"(?P<new2>{_ENDING}))\W*$", re.IGNORECASE)


# A letter named as such inside the address: "Chloe, then the letter P, at hotmail …" is "chloe p at hotmail …"
_LETTER_NAMED = re.compile(r",?\s+(?:then|and|plus)\s+(?:the\s+)?letter\s+([A-Za-z])\b,?", re.IGNORECASE)
# The domain said again after the address: "carlos at mendes dash tech dot com. No wait, mendestech dot com, no dash."
_DOMAIN_CORRECTED = re.compile(r"[.,;]?\s+(?:(?:no|sorry|wait|actually|oh|i mean)[,.]?\s+)+(?:it's\s+|it is\s+)?"
                               r"(?:at\s+)?(?P<d>(?!(?:use|try|our|my|the|website|it's)\b)[a-z][\w-]*(?:\s+[a-z][\w-]*)?"
                               r"(?:\s+dot\s+[a-z]+)+)(?:[.,]\s+(?P<w>[a-z]+))?\W*$",
                               re.IGNORECASE)


_COMMON_ENDINGS = {"com", "net", "org", "co", "uk", "io", "ie", "de", "au", "nz", "ca", "in", "us", "info", "biz"}
_PREFIX_WORDS = re.compile(r"^(?:(?:it's|it is|sure|yes|yeah|so|um|uh|my email is|email is)[,.]?\s+)+")


def _with_domain_corrected(text: str) -> str:
    """The address with the domain the caller said again after it ("…, no wait, mendestech dot com"): only when
    the address before has an "at" and what is said again has none."""
    said = _DOMAIN_CORRECTED.search(text)
    if said is None or re.search(r"\bat\b", said["d"], re.IGNORECASE):
        return text
    label = re.split(r"\s+dot\s+", said["d"])[0]
    local = re.findall(r"[a-z0-9]+", _PREFIX_WORDS.sub("", text[: said.start()].lower().rsplit(" at ", 1)[0]))
    first, endings = label.lower().split()[0], re.split(r"\s+dot\s+", said["d"].lower())[1:]
    if local and (first == local[0] or (first.startswith(local[0]) and not set(endings) & _COMMON_ENDINGS)):
        # "jo at gmail dot com. Sorry, it's jo dot ma.": the local part said again, not a domain
        return text
    if said["w"] and said["w"].lower() != re.sub(r"[\s-]", "", label.lower()):  # "…, iyer labs dot in. Iyerlabs"
        return text
    before = text[: said.start()]
    at = list(re.finditer(r"\bat\b", before, re.IGNORECASE))
    return before[: at[-1].end()] + " " + said["d"] if at and at[-1].start() > 0 else text


def _with_ending_corrected(text: str) -> str:
    """The address said with the ending the caller corrected it to: "x at y dot com. No, it's dot ie, not dot com"
    is "x at y dot ie"."""
    said = _ENDING_CORRECTED.search(text)
    if said is None:
        return text
    old, new = said["old"] or said["old2"], said["new"] or said["new2"]
    before = text[: said.start()]
    ending = list(re.finditer(rf"\b{re.escape(old)}\b", before, re.IGNORECASE))
    return before[: ending[-1].start()] + new if ending and ending[-1].start() > 0 else text


def normalize_email(text: str, *, endings: bool = True) -> tuple[str, float] | None:
    """An address and a confidence from spoken or formatted text; None if no address is there (nor in a key-word
    spelling that `decode_spelled` could not read: its words made a long address of "asinromeo" and the like).
    `endings`: refuse a domain ending no domain has (`validate.unknown_domain_ending`)."""
    if not text or not text.strip():
        return None
    text = _with_ending_corrected(text)
    text = _KEYED_LETTER.sub(lambda m: m.group(1) if RADIO.get(m.group(2).lower()) == m.group(1).lower()
                             else m.group(0), text)  # "R as in Romeo, T as in tango, walsh at …": "R, T, walsh"
    if says_key_words(text):
        return None
    raw = re.sub(_SUFFIXES, "", without_what_it_is_not(text.strip()), flags=re.IGNORECASE)
    spelled_after = _SPELLED_AFTER.search(raw)
    confirm = re.sub(r"[^A-Za-z]", "", spelled_after.group("x")).lower() if spelled_after else ""
    if spelled_after:
        raw = raw[: spelled_after.start()]
    raw = _SPACING_AFTER.sub("", _SPACING_BEFORE_AT.sub(" ", _SPACING_INSIDE.sub(" ", raw)))
    raw = _with_domain_corrected(_LETTER_NAMED.sub(r" \1", raw).strip(" ,"))
    raw = _SO_LOCAL.sub("", _without_talk_first(raw))
    raw = _TALK_BEFORE.sub("", raw) if " at " in raw.lower() else raw
    raw = without_spelled_echo(raw)
    result = _normalize_email(raw, endings)
    if result and confirm and "@" in result[0]:  # the spelling wins over what was heard of the local part
        local, _, domain = result[0].partition("@")
        named = (spelled_after["named"] or "").lower()
        local_words = re.split(r"[._-]", local)
        if named and min(edit_distance(named, word) for word in local_words) > 1 and confirm in re.sub(
                r"[^a-z]", "", domain) and (
                confirm not in re.sub(r"[^a-z]", "", local)):
            return result  # "…, at lekkihomes dot com dot ng. Lekki is L-E-K-K-I.": a word of the domain, as heard
        if spelled_after["named"] and (spelled_domain := _domain_spelled(local, domain, confirm)) is not None:
            return (f"{local}@{spelled_domain}", result[1]) if validate.email_address(
                f"{local}@{spelled_domain}", endings=endings) else result
        local = _confirmed(local, confirm)
        if validate.email_address(f"{local}@{domain}", endings=endings):
            return f"{local}@{domain}", result[1]
    if result and _NO_HYPHEN.search(text) and "-" in result[0].partition("@")[0]:  # "mary-jane at …, no hyphen"
        local, _, domain = result[0].partition("@")
        return f"{local.replace('-', '')}@{domain}", result[1]
    return result


_NO_HYPHEN = re.compile(r"\bno (?:hyphens?|dash(?:es)?)\b", re.IGNORECASE)


# A word that may be part of an address said aloud: no sentence of talk holds one
_ADDRESS_WORD = re.compile(r"(?<!')\b(?:at|dot|underscore|dash|hyphen|[b-hj-z]|\d+|" + "|".join(PROVIDERS) + r")\b|@",
                           re.IGNORECASE)


# How the local part is made, then "so" and the local part itself: "The letter J, then wong, so jwong, at …"
_SO_LOCAL = re.compile(r"^.*?,\s*so\s+(?=[\w.]+,?\s+at\s)", re.IGNORECASE)


def _without_talk_first(raw: str) -> str:
    """The address without sentences of talk before it ("It's quite a long one. amelia dot hartley at …", "My
    personal one is easiest. It's leah …"): a sentence of three words or more with no word of an address in it,
    when a later sentence has the "at"."""
    sentences = re.split(r"(?<=[.?!])\s+(?=\S)", raw)
    while (len(sentences) > 1 and len(sentences[0].split()) >= 3 and not _ADDRESS_WORD.search(sentences[0])
           and re.search(r"\bat\b|@", " ".join(sentences[1:]), re.IGNORECASE)):
        sentences = sentences[1:]
    return " ".join(sentences)


def _domain_spelled(local: str, domain: str, spelled: str) -> str | None:
    """The domain with its name as the caller spelled it after the address, when the spelling is of the domain's
    name misheard ("… at burstin dot pl, Bursztyn is B-U-R-S-Z-T-Y-N"): closer to it than to any word of the local
    part, and near enough to be the same word; None otherwise."""
    label, _, rest = domain.partition(".")
    if label in PROVIDERS or domain in WELL_KNOWN_DOMAINS or len(label) < 4:  # "leigh at me dot com, Lee is L-E-E"
        return None
    words = re.split(r"[._-]", local)
    to_label = edit_distance(label, spelled)
    if to_label == 0 or to_label > max(2, len(spelled) // 3) or not rest:
        return None
    if any(edit_distance(word, spelled) <= to_label for word in words):
        return None
    return f"{spelled}.{rest}"


def _confirmed(local: str, spelled: str) -> str:
    """The local part as a spelling after the address gives it: the whole of it ("rob…, that's R O B"), or the
    one word of it the caller spelled ("ros dot achebe…, that's A C H E B E" spells "achebe", not the address: it
    was stored "achebe@gmail.com")."""
    pieces = re.split(r"([._-])", local)
    words = pieces[::2]
    glued_end = len(words) == 1 and (local.startswith(spelled) or local.endswith(spelled))  # "rosachebe": "ros"
    if spelled in words or glued_end or spelled == "".join(words):
        return local
    if len(words) > 1 and len(spelled) < len(re.sub(r"[._-]", "", local)):
        closest = min(range(len(words)), key=lambda i: edit_distance(words[i], spelled))
        if edit_distance(words[closest], spelled) <= max(1, len(spelled) // 3):
            pieces[2 * closest] = spelled
            return "".join(pieces)
    return spelled


# A generic ending with more after it that is no country code ("acme.com.ohourwebsiteisacme.co.uk"): the address
# ended there and talk was glued on
_TALK_AFTER_ENDING = re.compile(r"(?<=@)[a-z0-9-]+\.(?:com|net|org|io)(?=\.(?![a-z]{2}$)[a-z0-9-]{3,}\.)")


def _normalize_email(raw: str, endings: bool) -> tuple[str, float] | None:
    formatted = _FORMATTED.search(raw)
    if formatted and " at " not in raw.lower() and " dot " not in raw.lower():
        candidate, _ = _fix_domain(join_spelled(formatted.group(0)).lower().rstrip("."))
        confidence = 0.95
    else:
        body = strip_edges(strip_leads(strip_edges(strip_fillers(raw)), *_PREFIXES))  # "Um, it's …", "Um, so, …"
        candidate, guessed = _spoken_to_address(body)
        if not candidate:
            return None
        candidate, penalty = _fix_domain(candidate)
        confidence = 0.85 - penalty - guessed
    candidate = candidate.strip(".")
    if (ended := _TALK_AFTER_ENDING.search(candidate)) is not None:  # "… dot com. Oh, our website is …": talk
        candidate, confidence = candidate[: ended.end()], min(confidence, 0.5)  # glued on: cut, read back
    if not EMAIL_RE.fullmatch(candidate) or ".." in candidate or (
            validate.email_address(candidate, endings=endings) is None):
        return None
    return candidate, round(max(0.3, confidence), 2)


def unknown_ending(text: str) -> str | None:
    """The ending of the address heard in `text` when that alone makes it no address ("zo" of "….co.zo"), for
    the re-ask to say what was wrong; None otherwise."""
    heard = normalize_email(text, endings=False)
    return validate.unknown_domain_ending(heard[0].rpartition("@")[2]) if heard else None


def _spell(word: str) -> str:
    return "-".join(word)


def spell_out_email(value: str) -> str:
    """Speakable read-back: "m-a-r-i-a dot g-a-r-c-i-a at example dot com"."""
    local, _, domain = value.partition("@")
    parts: list[str] = []
    for piece in re.split(r"([._+-])", local):
        if piece in SAID_AS:
            parts.append(SAID_AS[piece])
        elif piece:
            parts.append(_spell(piece))
    spoken_domain: list[str] = []
    for label in domain.split("."):
        words = []  # a dash in the domain is said, never spelled as a pause ("g-m-a---i---l" sounded like gmail)
        for piece in label.split("-"):
            words.append(piece if piece in COMMON_DOMAIN_WORDS or (piece.isalpha() and len(piece) >= 4)
                         else _spell(piece))
        spoken_domain.append(" dash ".join(words))
    return " ".join(parts) + " at " + " dot ".join(spoken_domain)
