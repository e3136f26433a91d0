"""Names, companies and roles from how people introduce themselves on the phone.

Callers rarely answer with the bare value: they say "my name is ...", "I'm a product manager at
Acme", or spell a surname letter by letter. These functions find the value inside the phrase and
give it the capitalisation a profile should show, whether STT produced lowercase or "Acme Corp.".
"""

from __future__ import annotations

import itertools
import re

from onboarding.interview.answer_text import without_what_it_is_not
from onboarding.interview.replies import classify_reply
from onboarding.interview.spoken import (
    SPACE_SAID,
    folded,
    join_spelled,
    strip_edges,
    strip_fillers,
    strip_leads,
    without_spelled_echo,
)
from onboarding.interview.work import ends_in_title_word

# "bye": a "Hi" as Whisper sometimes writes it ("Bye, Brian, Brian O'Connor")
_LEAD = (r"(?:(?:good )?(?:morning|afternoon|evening)|good day|hi there|hello there|hey there|hiya|"
         r"hi|hello|hey|bye|yes|yeah|yep|yup|sure thing|sure|ok|okay|so|well|oh|right|alright|of course|fine|"
         r"sorry)\b[,.!?]?")
# Sentences of greeting and apology before the name ("Hello? Oh, sorry. Yes, this is Declan Murphy speaking.")
_CHATTER = {"hello", "hi", "hey", "oh", "sorry", "yes", "yeah", "um", "uh", "there", "right", "ok", "okay", "good",
            "morning", "afternoon", "evening", "hiya", "ah", "so", "well", "great", "perfect", "lovely", "cool",
            "brilliant", "thanks", "thank", "you"}
# "name's" is often written "names" by Whisper ("Good morning, names Gareth Price.")
_NAME_INTRO = (r"(?:my (?:full |first )?name(?:'s| is)|the name(?:'?s| is)|(?:full )?name(?:'?s| is)|i'm|i am|im|"
               r"this is|call me|you can call me|it's|it is|they call me|that's|that is|"
               r"you're (?:speaking|talking) (?:with|to)|you are (?:speaking|talking) (?:with|to)|"
               r"(?:you've|you have) got|speaking with|i go by|(?:you can )?put me down as|"
               r"(?:you can |just )?(?:put|book) (?:it|me|that) (?:down )?under(?: the name)?|"
               r"that would be|that'd be|it would be|"
               r"it'd be)\b[,:]?")
_NAME_STOP = {"from", "at", "and", "with", "i", "i'm", "im", "here", "the", "a", "an", "working", "work", "is",
              "calling", "speaking", "thanks", "thank", "but", "so", "who", "in", "of", "for", "please", "as",
              # a job title after the name, its comma lost: "I'm Maria PM at Acme"
              "pm", "ceo", "cto", "cfo", "coo", "vp"}
_NOT_NAMES = {"not", "no", "yes", "what", "sorry", "don't", "dont", "know", "skip", "repeat", "sure", "um",
              "uh", "it", "is", "my", "name", "email", "you", "okay", "ok", "hello", "hi", "bye", "just", "me"}
# "my name is" anchors the name wherever it is: Whisper turns a leading "um" into "And", "Come", "You at".
_NAME_ANCHOR = re.compile(r"^.*?\bmy (?:full |first )?name(?:(?:'s| is)\b[,:]?|\?)\s*(?=\S)", re.IGNORECASE)
# each part named: "First name Elliot, last name Feldman." (read plainly it was stored "First Name Elliot")
_NAMED_PARTS = re.compile(r"\bfirst name(?: is|'s)?[,:]?\s+(?P<first>[\w'-]+)[,.]?\s+(?:and\s+)?(?:my\s+|the\s+)?"
                          r"(?:last name|surname|family name|second name)(?: is|'s)?[,:]?\s+(?P<last>[\w'-]+)",
                          re.IGNORECASE)
_TITLE = r"(?:dr|mr|mrs|ms|miss|prof|professor|doctor)\b\.?"
# "…, spelled G A R C I A" / "that's G-A-R-C-I-A" / "that's GARCIA" at the end: letters said apart, or capitals;
# "Elliot Feldman, that's me." says who is speaking, and "me" is no surname
_SPELLED_NOTE = re.compile(r"\b(?i:spelled|spelt|spell|that's|that is)\s*[,:]?\s+"
                           r"((?:[A-Za-z](?:[\s.-]+|$)){2,}|[A-Z]{2,}[.]?\s*)$")
# Spelled letters as Whisper groups them: "GA RCIA", "G RCIA" (all capitals, a one- or two-letter piece).
_CAPS_RUN = re.compile(r"\b[A-Z]{1,6}(?:\s+[A-Z]{1,6})+\b")
PARTICLES = {"de", "da", "del", "della", "van", "von", "der", "den", "la", "le", "di", "du", "dos", "bin"}


def capitalize_name_word(word: str, first: bool = True) -> str:
    """Maria, McDonald, O'Brien, Garcia-Lopez; lowercase particles ("van") inside a name."""
    low = word.lower()
    if not first and low in PARTICLES:
        return low
    if "-" in low:
        return "-".join(capitalize_name_word(part) for part in low.split("-"))
    if word[:1].isupper() and any(c.isupper() for c in word[1:]) and not word.isupper():
        return word  # "MacLeod", "DeShawn", "LaToya": the capitals inside were heard (or typed) so
    if re.fullmatch(r"[od]'[a-z]+", low):
        return low[:2].upper() + low[2].upper() + low[3:]
    if low.startswith("mc") and len(low) > 3:
        return "Mc" + low[2].upper() + low[3:]
    return low[:1].upper() + low[1:]


def _similar(spelled: str, word: str) -> bool:
    spelled, word = spelled.lower(), word.lower()
    return spelled[:1] == word[:1] or (abs(len(spelled) - len(word)) <= 1 and spelled[-1:] == word[-1:])


# How a word of the name is written, said after it: "Carys with a C.", "Stefan with an F, Stefan Novak"
_WRITTEN_WITH = re.compile(r"[,]?\s+with an? (?:double |two )?[A-Za-z](?: [A-Za-z])?(?=[\s,.;!?]|$)")


# A name people use before the one to store: "Everyone calls me Bex, but it's Rebecca Thornbury on paper."
_GOES_BY = re.compile(r"^.*?\b(?:calls? me|call me|go by|goes by|known as)\s+[\w'-]+[,.]?\s+but\s+"
                      r"(?:it's|it is|my (?:real |full |legal |proper )?name(?:'s| is)|officially|on paper)\s*[,:]?\s*"
                      r"(?=(?-i:[A-Z]))", re.IGNORECASE)  # "…, but it's fine either way" names no one
# Where the name is written, said after it: "… Rebecca Thornbury on paper", "… officially"
_WHERE_WRITTEN = re.compile(r"[,]?\s+(?:on paper|officially|legally|on my passport)\W*$", re.IGNORECASE)
# The name said last as what the caller settles on: "Sakamoto Haruto, first name first, so Haruto Sakamoto"
# An aside inside the name: "Bartholomew, as in the saint, Quigley"
_ASIDE = re.compile(r"(?P<first>[\w'-]+),\s*as in the [a-z][a-z' ]*,\s*(?P<last>[A-Z][a-z][\w'-]*)"
                    r"(?=\W*(?:,\s*(?:yeah|yes|please|thanks)\W*)?$)")
_SO_NAME = re.compile(r"^(?i:so)\s+(?=[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)+$)")  # capitalised words: a name


# Words said around a name that are no part of it: greeting and apology (_CHATTER), thanks, agreement, remarks,
# forms of address, how names are said, days
_NOT_OF_A_NAME = _CHATTER | {
           "thanks", "thank", "you", "please", "cheers", "bye", "goodbye", "correct", "exactly", "perfect", "great",
           "done", "that", "it", "all", "just", "ta", "gracias", "merci", "danke", "obrigado", "ciao", "apologies",
           "awesome", "super", "nice", "excellent", "wonderful", "grand", "sweet", "wait", "actually", "anyway",
           "mate", "love", "sir", "madam", "ma'am", "darling", "fine", "alright", "absolutely", "definitely", "indeed",
           "certainly", "agreed", "totally", "cool", "brilliant", "mr", "mrs", "ms", "miss", "mister", "dr", "doctor",
           "prof", "professor", "surname", "surname's", "name", "name's", "then", "last", "first", "family", "much",
           "appreciated", "spot", "on", "go", "ahead", "hold", "say", "again", "take", "care", "one", "yep", "yup",
           "nope", "nah", "mhm", "pardon", "huh", "hm", "uh-huh", "affirmative", "confirmed", "righto", "ok", "later",
           "howdy", "eh", "mine", "only", "simply", "single", "continue", "over", "welcome", "pleasure", "grazie",
           "si", "oui", "ja", "da", "senior", "junior", "jr", "sr", "testing", "understood", "noted", "roger", "copy",
           "splendid", "fantastic", "lovely", "here", "speaking", "calling", "sales", "marketing", "admin", "monday",
           "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "now", "next",
           "morning", "afternoon", "evening", "g'day", "greetings"}
_NAME_WORDS = re.compile(r"[A-Z][a-zà-öø-ÿ][\w'-]*(?:\s+[A-Z][a-zà-öø-ÿ][\w'-]*){0,2}")


def _without_chatter(text: str) -> str:
    """The sentences from the first that is more than greeting and apology on."""
    sentences = re.split(r"(?<=[.?!])\s+", text)
    while len(sentences) > 1 and (set(re.findall(r"[a-z']+", sentences[0].lower())) <= _NOT_OF_A_NAME
                                  or classify_reply(sentences[0]) == "yes"):  # "Absolutely. Maria Garcia."
        sentences = sentences[1:]
    return " ".join(sentences)


_NAMESAKE = re.compile(r"\b(?:like|as in)\b|\bsame (?:spelling|name)\b|\bthe (?:singer|actor|actress|footballer|"
                       r"player|basketball|artist|writer|president|band|film)\b", re.IGNORECASE)


def _whole_name_later(clauses: list[str]) -> str | None:
    """The first later clause of two or three capitalised words one of which is (or begins with) the single word
    said first."""
    first = clauses[0].strip(".").lower()
    if any(re.search(r"\bno relation\b", clause, re.IGNORECASE) for clause in clauses):
        return None  # "Lee. Bruce Lee, no relation."
    for at, (before, clause) in enumerate(itertools.pairwise(clauses), start=1):
        words = clause.strip(". ").split()
        if re.search(r"\b(?:my|our|his|her|their)\b", before, re.IGNORECASE):  # "Sam. My boss, Sam Porter, …"
            continue
        after = clauses[at + 1] if at + 1 < len(clauses) else ""
        if _NAMESAKE.search(after) or (re.search(r"\bthe\b", before, re.IGNORECASE) and after and not set(
                re.findall(r"[a-z']+", after.lower())) <= _CHATTER | {"that's", "me", "please"}):
            continue  # "Jones. Tom Jones, like the singer.": a namesake; "The boss, Sam Porter, booked it."
        if 2 <= len(words) <= 3 and all(w[:1].isupper() and w.lower() not in _NAME_STOP | _NOT_NAMES | {"like"}
                                        for w in words) and any(
                w.lower() == first or (len(first) >= 3 and w.lower().startswith(first)) for w in words):
            return clause
    return None


def _surname_after_pause(text: str, clauses: list[str]) -> list[str]:
    """"My name is Maria. Garcia.": a pause inside the name, written as two sentences. One name word, a full stop
    or an ellipsis, then one or two capitalised words and nothing more (but thanks) are one name."""
    first = clauses[0].strip(". ")
    rest = [c for c in clauses[1:] if not set(re.findall(r"[a-z']+", c.lower())) <= _NOT_OF_A_NAME]
    if len(clauses) < 2 or len(first.split()) != 1 or rest != clauses[1:2]:
        return clauses
    words = clauses[1].strip(". ").split()
    said = [first, *words]
    if (not _NAME_WORDS.fullmatch(" ".join(said)) or words[0].lower() == first.lower()
            or any(w.lower() in _NAME_STOP | _NOT_NAMES | _NOT_OF_A_NAME or classify_reply(w) != "other"
                   for w in said)
            or any(w.lower().startswith(first.lower()) or first.lower().startswith(w.lower()) for w in words)
            or ends_in_title_word(clauses[1].strip(". "))
            or not re.search(rf"\b{re.escape(first)}\.+\s+{re.escape(words[0])}\b", text)):
        return clauses  # "Maria, Garcia" may be written surname last; "Maria. Maria Garcia." is said again
    return [f"{first} {' '.join(words)}"]


def normalize_person_name(text: str) -> tuple[str, float] | None:
    """ "my name is maria, G A R C I A" -> ("Maria Garcia", 0.95); None if it is not a name."""
    if not text or not text.strip():
        return None
    text = without_what_it_is_not(strip_fillers(strip_edges(text)))
    text = _WHERE_WRITTEN.sub("", _GOES_BY.sub("", text))
    text = without_spelled_echo(_without_chatter(_WRITTEN_WITH.sub("", _ASIDE.sub(r"\g<first> \g<last>", text))))
    if named := _NAMED_PARTS.search(text):
        text = f"{named['first']} {named['last']}"
    text = strip_leads(_NAME_ANCHOR.sub("", text), _LEAD, _NAME_INTRO, _TITLE)
    if SPACE_SAID.search(text):  # "T-O-M-A S-Z space N-O-W-A-K": letters in words "space" parts
        text = join_spelled(text)
    text = _CAPS_RUN.sub(lambda m: re.sub(r"\s+", "", m.group(0)) if min(map(len, m.group(0).split())) <= 2
                         else m.group(0), text)
    spelled_note = _SPELLED_NOTE.search(text)
    spelled: str | None = None
    if spelled_note:
        spelled = re.sub(r"[\s.-]", "", spelled_note.group(1))
        text = text[: spelled_note.start()]
    text = text.replace("…", "... ")
    clauses = [c.strip() for c in re.split(r"[,;]|\.\s", join_spelled(text)) if c.strip()]
    if not clauses:
        return None
    if len(clauses) > 1 and _SO_NAME.match(clauses[-1]):
        clauses = [_SO_NAME.sub("", clauses[-1])]
    # a first name said, then said again with the surname: "Tom, Tom Hardy", "It's Sara. Sara Lindqvist"
    while len(clauses) > 1 and len(clauses[0].split()) == 1 and (
            clauses[1].split()[0].lower().strip(".") == clauses[0].lower().strip(".")) and len(clauses[1].split()) > 1:
        clauses = clauses[1:]
    # one word first, then the whole name in a later clause: "Rebecca, but everyone calls me Becky. Rebecca
    # Hollingsworth.", "It's Josh. Joshua Pemberton, sorry.", "Oyelaran, first name Tunde. Tunde Oyelaran."
    if len(clauses) > 1 and len(clauses[0].split()) == 1 and (whole := _whole_name_later(clauses)) is not None:
        clauses = [whole]
    clauses = _surname_after_pause(text, clauses)
    words: list[str] = []
    for tok in clauses[0].split():
        if tok.lower().strip(".") in _NAME_STOP:
            break
        words.append(tok.strip("."))
    if len(words) >= 3 and words[0].lower() == words[1].lower():  # "Priya Priya Raman": said twice, no pause heard
        words = words[1:]
    # "Grace Litu, L I U" (or "L.I.U", "L-I-U"): the letters after the name spell its misheard word
    letters_after = re.sub(r"[\s.-]", "", clauses[1]) if len(clauses) > 1 else ""
    if spelled is None and re.fullmatch(r"[A-Z]{2,}", letters_after) and letters_after.lower() not in _NOT_OF_A_NAME:
        spelled = letters_after
    confidence = 0.9 if len(words) >= 2 else 0.75
    if spelled:
        confidence = 0.95
        # "João Pereira. J-O-A-O.": no spelling carries an accent, so a word it spells without one is that word
        same = [i for i, w in enumerate(words) if folded(w) == spelled.lower()]
        similar = [i for i, w in enumerate(words) if _similar(spelled, w)]
        if same:
            pass  # the caller spelled a word we already heard right
        elif len(words) == 1 and not spelled_note:
            words.append(spelled)  # "Maria, G A R C I A": the spelled part is the surname
        elif words:
            words[(similar or [len(words) - 1])[-1]] = spelled
        else:
            words = [spelled]
    if not words or len(words) > 5:
        return None
    if any(not re.fullmatch(r"(?:[^\W\d_]|['-])+", w) for w in words):  # any alphabet's letters: "Wałęsa", "Yıldız"
        return None
    if all(w.lower() in _NOT_NAMES | _NOT_OF_A_NAME for w in words) or words[0].lower() in _NOT_NAMES:
        return None  # "Good afternoon.": a greeting, no name
    name = " ".join(capitalize_name_word(w, i == 0) for i, w in enumerate(words))
    return name, confidence
