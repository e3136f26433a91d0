"""Finding answers to other questions inside one utterance, and which field a correction names.

Callers volunteer more than they are asked ("I'm Maria, PM at Acme"). Only clear cues count here
("my name is", "X at Y", "team of N", an address with "at ... dot"), because filling a field from a
vague guess is worse than asking for it later.
"""

from __future__ import annotations

import re

from onboarding.interview import work
from onboarding.interview.definition import FieldSpec, InterviewDefinition
from onboarding.interview.normalize import (
    Normalized,
    normalize_email,
    normalize_integer,
    normalize_person_name,
    normalize_phone,
    normalize_timezone,
    normalize_value,
)

SYNONYMS: dict[str, set[str]] = {
    "person_name": {"name", "full name", "first name", "last name", "surname", "family name"},
    "email": {"email", "e-mail", "email address", "e-mail address", "address", "mail"},
    "company": {"company", "company name", "organisation", "organization", "business", "employer", "firm"},
    "role": {"role", "title", "job", "job title", "position", "job role"},
    "integer": {"team", "team size", "headcount", "size", "number of people"},
    "free_text": {"goal", "main goal", "primary goal", "objective", "reason"},
    "phone": {"phone", "phone number", "number", "mobile", "cell", "telephone", "mobile number", "cell number"},
    "timezone": {"time zone", "timezone", "zone", "location", "city"},
}
_NAME_CUE = re.compile(r"\b(?:my name is|my name's|name's|this is|call me)\s+(?P<x>[^,.;…]+)", re.IGNORECASE)
_CAP_NAME_CUE = re.compile(r"\b(?:I'm|I am)\s+(?P<x>[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)*)")
_EMAIL_CUE = re.compile(r"\S@\S|\bat\b.+\b(?:dot|\.)\s*(?:com|org|net|io|co|edu|calm)\b", re.IGNORECASE)
_EMAIL_CLAUSE = re.compile(r"(?:(?:my )?e-?mail(?: address)? is|reach me at)\s+(?P<x>.+)", re.IGNORECASE)
_PHONE_CUE = re.compile(r"\b(?:my (?:phone |mobile |cell )?number is|my phone is|call me on|reach me on)\s+(?P<x>.+)",
                        re.IGNORECASE)
_TEAM_CUE = re.compile(r"\bteam of (?P<x>[\w ,-]+?)(?:\s+people)?(?=[,.;]|$| and\b| at\b)|"
                       r"\b(?P<y>(?:about |around |roughly |some |maybe |over )?[\w,-]+(?: [\w,-]+)?) "
                       r"(?:people|employees|engineers|staff|developers|folks|of us|person team)\b", re.IGNORECASE)
_PLACE_CUE = re.compile(r"\b(?:based in|based out of|i'm in|we're in|i live in|located in)\s+(?P<x>[^,.;]+)",
                        re.IGNORECASE)


def _first_of(definition: InterviewDefinition, kind: str) -> FieldSpec | None:
    return next((spec for spec in definition.fields if spec.kind == kind), None)


def extract_fields(text: str, definition: InterviewDefinition) -> dict[str, Normalized]:
    """Values for any field the utterance clearly answers, keyed by field name."""
    found: dict[str, Normalized] = {}

    def put(kind: str, value: Normalized | None) -> None:
        spec = _first_of(definition, kind)
        if spec and value is not None and spec.name not in found:
            checked = normalize_value(spec, str(value.value)) if spec.pattern else value
            if checked is not None:
                found[spec.name] = value

    name = _NAME_CUE.search(text) or _CAP_NAME_CUE.search(text)
    if name:
        put("person_name", normalize_person_name(name.group("x")))
    if _EMAIL_CUE.search(text):
        clause = _EMAIL_CLAUSE.search(text)
        put("email", normalize_email(clause.group("x") if clause else text))
    phone = _PHONE_CUE.search(text)
    if phone:
        put("phone", normalize_phone(phone.group("x")))
    role, company = work.split_role_company(text)
    if role and company:
        put("role", Normalized(*role))
        put("company", Normalized(*company))
    elif re.search(r"\b(?:we're called|we are called|i work (?:at|for)|company is)\b", text, re.IGNORECASE):
        put("company", Normalized(*c) if (c := work.normalize_company(text)) else None)
    team = _TEAM_CUE.search(text)
    if team:
        spec = _first_of(definition, "integer")
        if spec:
            put("integer", normalize_integer(team.group("x") or team.group("y"), spec.min, spec.max))
    place = _PLACE_CUE.search(text)
    if place:
        put("timezone", normalize_timezone(place.group("x")))
    return found


def target_field(words: str | None, definition: InterviewDefinition) -> FieldSpec | None:
    """The field a caller names ("email", "company name", "phone number"), or None."""
    if not words:
        return None
    words = words.lower().strip()
    for spec in definition.fields:
        if words in (spec.name.replace("_", " "), spec.label.lower()):
            return spec
    for spec in definition.fields:
        if words in SYNONYMS.get(spec.kind, set()):
            return spec
    for spec in definition.fields:
        names = {spec.label.lower(), *SYNONYMS.get(spec.kind, set())}
        if any(re.search(rf"\b{re.escape(w)}\b", words) for w in names if len(w) > 3):
            return spec
    return None
