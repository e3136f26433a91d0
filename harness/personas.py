"""Scripted callers for the simulated caller, the end-to-end tests and `make bench`.

Each persona answers the default interview in order (confirmations included) and says what the
stored profile must hold afterwards. The phrasings are ones the local STT hears reliably in the
flite `slt` voice, so a failure points at our code rather than at Whisper tiny.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
        ["Tom Baker.", "Yes.", "tom at northwind dot com", "Yes.", "Northwind.", "Software engineer.", "Fifty.",
         "Better reporting.", "Skip.", "Skip."],
        {"full_name": "Tom Baker", "email": "tom@northwind.com", "company": "Northwind", "role": "Software Engineer",
         "team_size": 50},
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


# A caller who spells the email and corrects their name after confirming it.
CORRECTION_CALL = Persona(
    ["Tom Baker.", "Yes.", "It's t o m at northwind dot com.", "Yes.", "Actually, my name is Thomas Baker.", "Yes.",
     "I work at Northwind.", "Software engineer.", "Fifty.", "Better reporting.", "Skip.", "Skip."],
    {"full_name": "Thomas Baker", "email": "tom@northwind.com", "company": "Northwind", "role": "Software Engineer",
     "team_size": 50},
)
