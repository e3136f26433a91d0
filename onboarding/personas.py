"""Scripted callers for the simulated caller, the end-to-end tests and `make bench`.

Each persona answers the default interview in order (confirmations included) and says what the
stored profile must hold afterwards. The phrasings are ones the local STT hears reliably in the
flite `slt` voice, so a failure points at our code rather than at Whisper tiny.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Persona:
    answers: list[str]
    expected: dict[str, str | int] = field(default_factory=dict)


PERSONAS = [
    Persona(
        ["My name is Maria Garcia.", "Yes.", "It's maria at example dot com.", "Yes.", "I work at Acme Corp.",
         "Product manager.", "About twenty people.", "We want to onboard new customers faster.", "Skip.",
         "Pacific time."],
        {"full_name": "Maria Garcia", "email": "maria@example.com", "company": "Acme Corp",
         "role": "Product Manager", "team_size": 20, "timezone": "America/Los_Angeles"},
    ),
    Persona(
        ["Tom Baker.", "Yes.", "tom at northwind dot com", "Yes.", "Northwind.", "Engineer.", "Fifty.",
         "Better reporting.", "Skip.", "Skip."],
        {"full_name": "Tom Baker", "email": "tom@northwind.com", "company": "Northwind", "role": "Engineer",
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
