"""Scripted callers for the simulated caller, the end-to-end tests and `make bench`.

Each persona answers the default interview in order (confirmations included) and says what the
stored profile must hold afterwards. The phrasings are ones the local STT hears reliably in the
flite `slt` voice, so a failure points at our code rather than at Whisper tiny.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from onboarding.interview import load_definition, speakable
from onboarding.interview.spelling import spell_out, spell_out_with_words
from onboarding.interview.spoken import folded

# Where each field's answer sits in a persona's in-order answers (after "Yes." to each read-back).
ANSWER_POSITIONS = {"full_name": 0, "email": 2, "company": 4, "role": 5, "team_size": 6, "primary_goal": 7,
                    "phone": 8, "timezone": 9}


@dataclass(frozen=True)
class Persona:
    answers: list[str]
    expected: dict[str, str | int] = field(default_factory=dict)

    @property
    def answer_book(self) -> dict[str, str]:
        """The same answers by field, for a caller who answers whatever is asked (and repeats on a re-ask)."""
        return {name: self.answers[i] for name, i in ANSWER_POSITIONS.items()}


PERSONAS = [
    Persona(
        ["My name is Maria Garcia.", "Yes.", "It's maria at example dot com.", "Yes.", "I work at Acme Corp.",
         "Product manager.", "About twenty people.", "We want to onboard new customers faster.", "Skip.",
         "Pacific time."],
        {"full_name": "Maria Garcia", "email": "maria@example.com", "company": "Acme Corp",
         "role": "Product Manager", "team_size": 20, "timezone": "America/Los_Angeles"},
    ),
    Persona(
        ["Tom Baker.", "Yes.", "tom at northwind dot com", "Yes.", "Northwind.", "Software engineer.", "Twenty-five.",
         "Better reporting.", "Skip.", "Skip."],
        {"full_name": "Tom Baker", "email": "tom@northwind.com", "company": "Northwind", "role": "Software Engineer",
         "team_size": 25},
    ),
    Persona(
        ["My name is John Smith.", "Yes.", "It's john at example dot org.", "Yes.", "I work at Acme Corp.",
         "Designer.", "Ten people.", "Faster hiring.", "Skip.", "London."],
        {"full_name": "John Smith", "email": "john@example.org", "company": "Acme Corp", "role": "Designer",
         "team_size": 10, "timezone": "Europe/London"},
    ),
    Persona(
        ["I'm Peter Brown.", "Yes.", "It's peter at example dot com.", "Yes.", "I work at Northwind.",
         "Sales manager.", "Twelve.", "Save time.", "Skip.", "Skip."],
        {"full_name": "Peter Brown", "email": "peter@example.com", "company": "Northwind",
         "role": "Sales Manager", "team_size": 12},
    ),
    Persona(
        ["This is Jane Miller.", "Yes.", "It's jane at example dot net.", "Yes.", "The company is Acme Corp.",
         "Founder.", "Just me.", "Grow our customer base.", "Skip.", "Skip."],
        {"full_name": "Jane Miller", "email": "jane@example.net", "company": "Acme Corp", "role": "Founder",
         "team_size": 1},
    ),
]


# A caller who spells the email and corrects their name after confirming it. The letters are said with a pause
# each, as callers spell: said run together ("t o m"), Whisper tiny once wrote "It's TM at northwind.com" (CI,
# 2026-12-08), and this caller says yes to any read-back, so the test hung on one hearing.
CORRECTION_CALL = Persona(
    ["Tom Baker.", "Yes.", "It's t, o, m, at northwind dot com.", "Yes.", "Actually, my name is Thomas Baker.", "Yes.",
     "I work at Northwind.", "Software engineer.", "Twenty-five.", "Better reporting.", "Skip.", "Skip."],
    {"full_name": "Thomas Baker", "email": "tom@northwind.com", "company": "Northwind", "role": "Software Engineer",
     "team_size": 25},
)


# What Whisper tiny writes for a made-up name from run to run, over WebRTC with the same audio (the VAD cuts the
# utterance a few frames apart): tests of the pipeline, storage and faults take either hearing, not one coin toss.
HEARINGS = {"Acme Corp": ("Acme Corp", "ECME Corp")}


def as_heard(expected: dict, stored: dict) -> dict:
    """`expected`, with each value Whisper tiny has more than one hearing of replaced by the stored one when that is
    one of its hearings: everything else must still match exactly."""
    return {name: stored.get(name) if stored.get(name) in HEARINGS.get(value, ()) else value
            for name, value in expected.items()}


# --- callers who listen: the end-to-end accuracy bench and the spoken correction tests ------------------------
HELDOUT_PATH = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "heldout.toml"


@dataclass
class Typed:
    """What a caller types into the widget (a field's correction) instead of saying something."""

    field: str
    value: str


@dataclass
class ListeningCaller:
    """A caller who hears only what the agent SAYS (its words on `lk.transcription`), as a person on the phone:
    answers the question it recognises, says yes to a read-back of its own value and no to any other (and "one
    word" or "no hyphen" to one that says its spacing wrong), spells what it is asked to spell (the part that was
    misheard), says a job title or goal asked again after a no in its words alone ("Office manager."), and, when it
    `may_type`, types a field the agent got wrong twice or gave up on. `expected` is the profile it should end
    with."""

    answers: dict[str, str]
    expected: dict[str, str | int]
    may_type: bool = False
    topic: str = ""  # the field the agent asked about last
    said_no: dict[str, int] = field(default_factory=dict)
    last_read_back: str = ""
    typed: set[str] = field(default_factory=set)

    def reply(self, agent_said: str, shown: dict | None = None) -> str | Typed | None:
        """What to say (or type) after the agent's turn; None: nothing (the goodbye). `shown`: the fields as the
        widget shows them (what was understood), which a caller who may type reads and fixes."""
        low = agent_said.lower()
        definition = load_definition()
        if self.may_type and (gave_up := self._given_up(low, definition)) is not None:
            return gave_up
        if self.may_type and shown:
            wrong = [name for name, value in shown.items()
                     if name in self.expected and value != self.expected[name] and name not in self.typed]
            if wrong:
                return self._type(wrong[0])
        asked = asked_field(low, definition)
        if "end the call" in low:
            return "No, let's carry on."
        if "one digit at a time" in low and self.topic:  # "triple one" when the agent asks for it
            return say_digits(self.expected.get(self.topic), doubles="double or triple" in low)
        if (part := asked_part(low)) is not None and self.topic in self.expected:
            return spell_out_with_words(folded(part_of(str(self.expected[self.topic]), part).lower()),
                                        doubles="double for" in low)
        if "spell" in low and self.topic:  # with a word per letter when the agent gave an example ("M as in Mike")
            return spell_part(self.topic, self.expected.get(self.topic), self.last_read_back, keyed=" as in " in low,
                              doubles="double for" in low, wrong_part="i got wrong" in low)
        if "is that right" in low or "right?" in low:
            self.last_read_back = agent_said
            mine = next((value for name, value in self.expected.items() if _read_back(agent_said, name, value)), None)
            if mine is not None:
                return spacing_answer(agent_said, mine) or "Yes."
            self.said_no[self.topic] = self.said_no.get(self.topic, 0) + 1
            if self.may_type and self.said_no[self.topic] >= 2 and self.topic in self.expected:
                return self._type(self.topic)
            return "No."
        if asked is not None:
            if asked != self.topic:  # a new question: what was read back before was another field
                self.last_read_back = ""
            self.topic = asked
            if self.said_no.get(asked) and asked in self.expected and load_definition().field(asked).kind in (
                    "role", "free_text"):
                return f"{self.expected[asked]}."  # asked again after a no: the words alone, as people do
            return self.answers.get(asked, "Skip.")
        if "goodbye" in low:
            return None
        return "Sorry, could you repeat that?"

    def _type(self, name: str) -> Typed:
        self.typed.add(name)
        return Typed(name, str(self.expected[name]))

    def _given_up(self, low: str, definition) -> Typed | None:
        """The agent said someone will follow up about a field: type it."""
        for spec in definition.fields:
            if f"follow up about your {spec.label}" in low and spec.name in self.expected and (
                    spec.name not in self.typed):
                return self._type(spec.name)
        return None


# what the agent says when it asks for one part of a value spelled in two parts
_PART_ASKED = {"the part before the at": "local", "the part after the at": "domain",
               "just your first name": "first", "spell your surname": "last"}


def asked_part(low: str) -> str | None:
    return next((part for words, part in _PART_ASKED.items() if words in low), None)


def part_of(value: str, part: str) -> str:
    """One part of an address or a name ("last": every word after the first, spelled with "space" between)."""
    if part in ("local", "domain"):
        return value.partition("@")[0 if part == "local" else 2]
    first, _, rest = value.partition(" ")
    return first if part == "first" else rest


def asked_field(low: str, definition) -> str | None:
    """The field whose question (any of its phrasings) the agent said last."""
    best, where = None, -1
    for spec in definition.fields:
        for question in spec.questions:
            at = low.rfind(question.lower().rstrip("?.").split(". ")[-1])
            if at > where:
                best, where = spec.name, at
    return best


def _letters(text: str) -> str:
    """The letters and digits, accents folded ("Fernndez" read back is not "Fernández", "Fernandez" is)."""
    return re.sub(r"[^a-z0-9]+", "", folded(text))


# "I heard North Star, two words. Is that right?": how the agent says the value is written, where no ear can tell
_SPACING_NOTE = re.compile(r",\s*(?:(?P<hyphen>with a hyphen)|(?:(?P<pair>[\w' ]+?) as )?two words"
                           r"|(?:(?P<glued>[\w']+) as )?(?P<one>one word))(?=\.?\s*is that right)", re.IGNORECASE)


def spacing_answer(said: str, value: str | int) -> str | None:
    """A caller's answer to a read-back of their own value that says it is written otherwise than theirs
    ("No, one word." to "North Star, two words" for Northstar, "No, two words." to "Grantstudio, one word" for
    Grant Studio); None: it is written as they write it."""
    note = _SPACING_NOTE.search(said)
    if note is None:
        return None
    text = str(value).lower()
    if note["hyphen"]:
        return None if "-" in text else "No, no hyphen."
    heard = re.search(r"\bheard (?P<x>.+?)$", said[:note.start()], re.IGNORECASE)
    if note["one"]:  # "Grantstudio, one word" to Grant Studio
        glued = (note["glued"] or (heard["x"] if heard else "")).lower()
        return None if glued in text else "No, two words."
    pair = (note["pair"] or (heard["x"] if heard else "")).lower()
    if pair in text:
        return None
    glued = pair.replace(" ", "")
    # "Ezech Ambers, two words" for Eze Chambers: two words, parted elsewhere; a plain no, then spell it
    return "No, one word." if glued in text.split() else "No."


def _read_back(said: str, name: str, value: str | int) -> bool:
    """The agent read `value` back, exactly: "I heard <it>. Is that right?" (or, said otherwise, contains it); how
    it says the value is written is no part of the value."""
    said = _SPACING_NOTE.sub("", said)
    spec = load_definition().field(name)
    spoken = _letters(speakable(value, spec.kind, spec.region))
    heard = re.search(r"\bheard (?P<x>.+?)\.? is that right", said, re.IGNORECASE)
    if heard:
        return _letters(heard.group("x")) == spoken
    return bool(spoken) and spoken in _letters(said)


DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def say_digits(value: str | int | None, *, doubles: bool = False) -> str:
    """A phone number one digit at a time, as a caller says it when asked to: a US number without its +1; with
    `doubles`, "triple one" for 111 and "double five, double five" for 5555, as the agent asked."""
    if value is None:
        return "Skip."
    number = str(value)
    number = number[2:] if number.startswith("+1") else number
    if not doubles:
        return ", ".join("plus" if ch == "+" else DIGIT_WORDS[int(ch)] for ch in number
                         if ch == "+" or ch.isdigit())
    digits = re.sub(r"\D", "", number)
    # in the groups people say a number in (415 555 1112: "four one five, five triple five, triple one two")
    groups = [digits[:3], digits[3:6], digits[6:]] if len(digits) == 10 else [digits]
    said = ["plus"] if number.startswith("+") else []
    for group in groups:
        for run, _digit in re.findall(r"((\d)\2{0,2})", group):
            word = DIGIT_WORDS[int(run[0])]
            said.append({1: word, 2: f"double {word}", 3: f"triple {word}"}[len(run)])
    return ", ".join(said)


def spell_part(name: str, value: str | int | None, read_back: str, *, keyed: bool = False,
               doubles: bool = False, wrong_part: bool = False) -> str:
    """Spell what was misheard: the words of a name the read-back got wrong, the local part of an address (or
    all of it when the domain was wrong too; asked for `wrong_part`, the domain alone when only it was wrong);
    anything else in full. `keyed`: a word for each letter; `doubles`: "double N" for two of a letter, as the agent
    asked; accents are not spelled ("Fernández": F, E, R, N, A…)."""
    if value is None:
        return "Skip."

    def spell(text: str) -> str:
        return (spell_out_with_words if keyed else spell_out)(folded(text), doubles=doubles)

    text = str(value)
    read_back = folded(read_back)
    if name == "email":
        local, _, domain = text.partition("@")
        heard = read_back.lower()
        if domain.replace(".", " dot ") in heard:  # "brooks dot gov": not theirs
            return spell(local)
        return spell(domain if wrong_part and _local_read_back(heard) == local.lower() else text)
    if name == "full_name":
        heard_words = re.findall(r"[a-z']+", read_back.lower())  # words: "Rosalindich" read back is no "Rosalind"
        wrong = [w for w in text.split() if folded(w) not in heard_words]
        return ", space, ".join(spell(w.lower()) for w in wrong) if wrong else spell(text.lower())
    return spell(text.lower())


def _local_read_back(read_back: str) -> str:
    """The part before the at of an address read back letter by letter ("I heard t-h-e-o dot m at …": theo.m)."""
    said = read_back.partition("i heard ")[2].partition(" at ")[0]
    return re.sub(r"[\s-]", "", said.replace(" dot ", ".").replace(" underscore ", "_").replace(" dash ", "-"))


def heldout_personas(count: int, path: Path = HELDOUT_PATH) -> list[ListeningCaller]:
    """Callers made of held-out answers (tests/corpus/heldout.toml, or heldout-3.toml's whole callers: never tuned
    on): each takes the next answer of every field; an address goes with the name whose first name it holds, as a
    real caller's would."""
    corpus = tomllib.loads(path.read_text(encoding="utf-8"))
    names, emails = corpus["full_name"], list(corpus["email"])
    callers = []
    for index in range(count):
        person = names[index % len(names)]
        first = person["expected"].split()[0].lower()
        email = next((e for e in emails if first in e["expected"]), emails[index % len(emails)])
        picks = {"full_name": person, "email": email}
        for name in ("company", "role", "team_size", "primary_goal", "phone", "timezone"):
            picks[name] = corpus[name][index % len(corpus[name])]
        callers.append(ListeningCaller(answers={k: v["text"] for k, v in picks.items()},
                                       expected={k: v["expected"] for k, v in picks.items()}))
    return callers
