"""Where the answer is in what a caller said, before any field's rules read it.

People rarely answer in one clean piece. They ask something back first ("Do you mean my employer? That's
Halverson Dental."), correct themselves mid-answer ("It was twenty, no, twenty-four now.", "Tamsin Reeve.
Actually, sorry, Tamsin Reeves."), or talk around the value in sentences of their own. A careful operator stores
the value said last, after the question; these helpers give the normalisers those parts to try, in that order.
"""

from __future__ import annotations

import difflib
import re

# A question the caller asked before answering it themselves: "Sorry, which one? The one I'm calling for is …"
_ASKED_BACK = re.compile(r"^[^.?!]*\?+\s+(?=\S)")
# A correction inside an answer, after something was said ("Jon, no, sorry, John", "tom dot b, no wait, tom dot c",
# "thirty, I mean thirty-two"): the value said after the last one is the caller's. "No more no-shows" is no
# correction (no pause after the "no").
_CORRECTED = re.compile(r"(?<=[\w'])[,.;!?]?\s+(?:(?:no|nope)[,.]?\s+(?:sorry|wait|i mean|actually)\b|"
                        r"(?:no|nope)(?=[,.;])|sorry[,.]?\s+(?:no|i mean)\b|"
                        r"actually[,.]?\s+(?:sorry|no)\b|"
                        # "Sales manager, well, no, head of sales", "…, well actually practice manager" (not "well, no
                        # more no-shows", "well, no idea")
                        r"(?<=[,.;]\s)well[,.]?\s+(?:no\b(?![,.]?\s+(?:more|longer|one|problem|idea|need|matter|doubt|"
                        r"way|worries|rush)\b)(?:[,.]?\s+(?:sorry|wait|i mean|actually)\b)?|actually\b)|"
                        r"(?P<held>wait|hang on)[,.]?\s+(?:no|sorry|actually|i mean)\b|"
                        # a lone "wait" after a pause, not "people wait," nor "and wait," nor "Wait, and also …"
                        r"(?<=[,.;!?]\s)(?P<lone>wait|hang on)(?=,(?!\s*(?:and|also|plus)\b))|"
                        r"i mean(?=,)|scratch that|let me start (?:again|over)|correction|"
                        r"(?<=[.!?]\s)(?:oh[,.]?\s+)?sorry[,.]\s+(?=(?:i meant?|make that|it should be|that should be|"
                        r"(?:first|last) name first|surname first|the other way (?:round|around)|wrong way round)\b))"
                        r"[,.;:]?\s*", re.IGNORECASE)
# A question said after a correction's lead, not a value: "Acme Logistics. Wait, do you mean the parent company?"
_ASKED = re.compile(r"^(?:do|does|did|is|are|can|could|should|would|what|which|how|why|who|where|when)\b[^.!]*\?\s*$",
                    re.IGNORECASE)
# What follows a "wait" or "hang on" that corrects nothing: the caller needs a moment, or makes a remark
_NO_VALUE_AFTER_WAIT = re.compile(r"(?:someone|somebody|let me|i need|i have to|i'll|hang on|hold on|one (?:sec|second|"
                                  r"moment|minute)|just a|give me|bear with|about that|"
                                  r"i'm (?:driving|in the car|on the road)|bad line|(?:it's|it is) (?:noisy|loud)|"
                                  r"my (?:phone|other line))\b|^\W*$", re.IGNORECASE)
_ADDED = re.compile(r"(?:(?:i'm |i am )?also|or|and)\b", re.IGNORECASE)  # "Wait, and also …": more, not instead
# A moment asked for before the value: "hang on, fifteen", "let me count. Fifteen."
_MOMENT = re.compile(r"(?:hang on|hold on|let me (?:think|count|check|see|spell it)|give me a (?:second|sec|moment|"
                     r"minute)|one (?:sec|second|moment|minute)|just a (?:sec|second|moment|minute))[,.;:]\s*",
                     re.IGNORECASE)
_I_MEAN = re.compile(r"^i mean[,.]?\s*", re.IGNORECASE)
# What the value is not, then what it is: "It's not sarah with an h, it's sara, …", "not Catherine with a C, it's
# Kathryn": only for a name or an address, where what it is not is a spelling of it
_NOT_THIS_BUT = re.compile(r"^.*?\bnot\s+[\w' -]+?,\s*(?:it's|it is|but)\s+(?=\S)", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=\S)")


def without_asked_back(text: str) -> str:
    """The text after any question the caller asked before the answer (the whole text if nothing follows one)."""
    while match := _ASKED_BACK.match(text):
        text = text[match.end():]
    return text


def corrected_parts(text: str) -> tuple[str, str] | None:
    """What the caller said before the last correction inside the answer and after it; None when there is none
    or nothing follows it."""
    corrections = list(_CORRECTED.finditer(text))
    if not corrections:
        return None
    last = corrections[-1]
    tail = text[last.end():].strip()
    if _ASKED.match(tail):  # "Acme Logistics. Wait, do you mean the parent company?": a question, no correction
        return None
    tail = _I_MEAN.sub("", tail)  # "Wait, sorry, I mean Acme Holdings."
    if last["lone"] or last["held"]:
        while moment := _MOMENT.match(tail):  # "Wait, no, hang on, fifteen.": the value after the moment asked for
            tail = tail[moment.end():]
        if tail.endswith("?") or _NO_VALUE_AFTER_WAIT.match(tail) or (last["lone"] and _ADDED.match(tail)):
            return None  # "Owner. Wait, official title?", "Owner. Hang on, someone's at the door."
    return (text[: last.start()], tail) if re.search(r"\w", tail) else None


# A word said to correct one word of a longer value resembles the word it replaces this much ("Brandt" → "Brand")
_SAME_WORD_LIKENESS = 0.6


def one_word_corrected(before: str, word: str) -> str | None:
    """`before` (a value of several words) with the word `word` corrects, the one it resembles most, replaced:
    "Anneliese Brandt" and "Brand" give "Anneliese Brand"; None when `word` is more than one word or like none."""
    words = before.split()
    low = word.lower()
    if len(word.split()) != 1 or len(words) < 2 or "".join(words).lower() in low:
        return None  # "Pixel Forge", then "Pixelforge": the spacing put right, the value said whole
    likeness = [difflib.SequenceMatcher(None, w.lower(), low).ratio() for w in words]
    best = max(range(len(words)), key=likeness.__getitem__)
    if likeness[best] < _SAME_WORD_LIKENESS:  # "Ben Carter", then "Benjamin": the word it begins with
        best = next((k for k, w in enumerate(words) if len(w) >= 3 and low.startswith(w.lower())), -1)
        if best < 0:
            return None
    if words[best].lower() == low or any(w.lower() in low for k, w in enumerate(words) if k != best):
        return None
    return " ".join([*words[:best], word, *words[best + 1:]])


def without_what_it_is_not(text: str) -> str:
    """The text after "not X, it's": what the caller says the value is, not the spelling they ruled out."""
    return _NOT_THIS_BUT.sub("", text, count=1)


# The value the caller asks to be written, after saying more: "Nguyen Thi Lan, but put Lan Nguyen, that's easier.",
# "Baker, owner, cleaner, all of it. Put owner.", "Skipper, I guess? Say fleet manager."
# Only the value itself, then the end of the sentence or "that's easier": not "Put Dr if you like.", "Say that again?",
# "Use the full name.", "Say Cheese, like the photo." (a company's own name), "Write to me at the office."
_PUT_DOWN = re.compile(r"(?:^|(?<=[.!])\s+|,\s*(?:but|so|just)\s+)(?:(?:but|so|just)\s+)*"
                       r"(?:put|write|say|go with|use)\s+(?:(?:it|me)\s+(?:down\s+)?as\s+|down\s+(?:as\s+)?|as\s+)?"
                       r"(?P<x>(?!(?:it|simply|that|this|so|the|a|an|to|in|for|back|again|however|whatever|hello|"
                       r"if|me|my|your|capitals)\b)[^,.;!?]+?)"
                       r"(?:,\s*(?:that's|it's|that is|it is)\s+(?:easier|simpler|fine|better|shorter)\s*)?[.!]?$",
                       re.IGNORECASE)
_NOT_IN_A_VALUE = re.compile(r"\b(?:if|for short|please|in the|at the|to me|for me|like)\b", re.IGNORECASE)


def put_down(text: str) -> str | None:
    """What the caller, after saying more, asks to be written ("…, but put Lan Nguyen, that's easier."); None when
    they ask for nothing so. Only after something else was said: a reply that is all "Say twelve." is the value."""
    said = _PUT_DOWN.search(text)
    if said is None or said.start() == 0 or not said["x"].strip() or _NOT_IN_A_VALUE.search(said["x"]):
        return None
    return said["x"]


def later_sentences(text: str) -> list[str]:
    """The text from each sentence after the first on: "I'm the one who booked the demo. Oskar Lindholm." gives
    ["Oskar Lindholm."]."""
    return [text[match.end():] for match in _SENTENCE.finditer(text)]


def earlier_sentences(text: str) -> list[str]:
    """The text up to the end of each sentence but the last, longest first: a remark after the value dropped."""
    return [text[: match.start()] for match in reversed(list(_SENTENCE.finditer(text)))]


# How a word of the value is spaced, said after it: "Hollow Tree Games. Well, Hollowtree is one word."
_ONE_WORD_SAID = re.compile(r"[,.;]?\s+(?:(?:well|oh|and|but|sorry)[,.]?\s+)*(?:that's|it's|the)?\s*"
                            r"(?P<word>[A-Za-z][\w'-]+)\s+is\s+(?:all\s+)?(?:just\s+)?one word\W*$", re.IGNORECASE)


def with_one_word_said(text: str) -> str:
    """The value with a word the caller said is one word written as one: "Hollow Tree Games. Well, Hollowtree is
    one word." is "Hollowtree Games"; the text as it was when no words of it make that word."""
    said = _ONE_WORD_SAID.search(text)
    if said is None:
        return text
    word, before = said["word"], text[: said.start()]
    words = re.findall(r"[\w'-]+", before)
    for start in range(len(words)):
        for end in range(start + 2, min(start + 4, len(words)) + 1):
            if "".join(words[start:end]).lower() == word.lower():
                pattern = r"\s+".join(map(re.escape, words[start:end]))
                kept = word if any(c.isupper() for c in word[1:]) else words[start] + word[len(words[start]):].lower()
                return re.sub(pattern, kept, before, count=1)  # "BlueFin is one word": as the caller wrote it
    return text
