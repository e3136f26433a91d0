"""The interview as data: one TOML file drives the spoken interviewer, the REST mode and the LLM tools.

Loading is strict because a typo in the file would otherwise surface mid-call; every error names the
file, the line and the reason so whoever edits the file can fix it without reading code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DEFINITION_PATH = Path(__file__).resolve().parents[2] / "data" / "interview.toml"

FIELD_TYPES = ("text", "person_name", "email", "phone", "integer", "choice", "free_text")
NORMALIZERS = ("company", "role", "timezone")
TOP_KEYS = {"greeting", "goodbye", "max_attempts", "read_back_below", "fields", "read_back_end_of_turn"}
FIELD_KEYS = {"name", "label", "type", "questions", "required", "confirm", "hint", "choices",
              "min", "max", "pattern", "normalizer", "stt_prompt", "region", "read_back_below", "end_of_turn"}
DEFAULT_READ_BACK_BELOW = 0.6
END_OF_TURN_KEYS = {"min_delay", "max_delay"}
MAX_END_OF_TURN_DELAY = 10.0


class InterviewDefinitionError(ValueError):
    """A bad interview file; the message reads `path:line: reason`."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class EndOfTurn:
    """How long the agent waits after the caller stops before answering (seconds, from the end of speech):
    at least `min_delay`, and `max_delay` when the end-of-turn model thinks the caller is not done. None keeps the
    global setting (ENDPOINTING_MIN_DELAY / ENDPOINTING_MAX_DELAY)."""

    min_delay: float | None = None
    max_delay: float | None = None


@dataclass(frozen=True)
class FieldSpec:
    """One question of the interview and the rules its answer must meet."""

    name: str
    label: str
    type: str
    questions: tuple[str, ...]
    required: bool = True
    confirm: bool = False
    hint: str | None = None
    choices: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    normalizer: str | None = None
    stt_prompt: str | None = None  # words the local STT should expect while this field is asked
    region: str | None = None  # phone: the country a number without "+" belongs to (ISO 3166 code, e.g. "US")
    read_back_below: float | None = None  # read the value back when its confidence is below this (None: default)
    end_of_turn: EndOfTurn | None = None  # while this field is asked (spelling an email, reading a number)
    home_region: str | None = None  # phone, during a call: the caller's country as their email shows it

    @property
    def kind(self) -> str:
        """The normaliser to use: the explicit one, a well-known field name, or the type."""
        if self.normalizer:
            return self.normalizer
        if self.type == "text" and self.name in NORMALIZERS:
            return self.name
        return self.type

    @property
    def question(self) -> str:
        return self.questions[0]


@dataclass(frozen=True)
class InterviewDefinition:
    """The whole interview: what to say first and last, and the fields in the order they are asked."""

    greeting: str
    goodbye: str
    fields: list[FieldSpec] = field(default_factory=list)
    max_attempts: int = 2
    read_back_below: float = DEFAULT_READ_BACK_BELOW  # any field heard with less confidence is read back
    path: Path | None = None
    read_back_end_of_turn: EndOfTurn | None = None  # while a yes or no is awaited (read-backs, "end the call?")

    def read_back_threshold(self, spec: FieldSpec) -> float:
        """Below this confidence a value of `spec` is read back for a yes (fields marked `confirm` always are)."""
        return spec.read_back_below if spec.read_back_below is not None else self.read_back_below

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.fields]


def _line_of(text: str, needle_pattern: str, start: int = 0, end: int | None = None) -> int | None:
    """1-based line of the first match in text[start:end], to point errors at the file."""
    match = re.compile(needle_pattern, re.MULTILINE).search(text, start, len(text) if end is None else end)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _field_blocks(text: str) -> list[int]:
    """Character offsets of each `[[fields]]` header, in order, matching the parsed list."""
    return [m.start() for m in re.finditer(r"^[ \t]*\[\[\s*fields\s*\]\]", text, re.MULTILINE)]


def _end_of_turn(raw: Any, where: str, key_pattern: str, fail: Any) -> EndOfTurn | None:
    """`{ min_delay = 0.3, max_delay = 1.5 }`: both optional, 0 <= min_delay <= max_delay <= 10 seconds."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        fail(key_pattern, f"{where}: `end_of_turn` must be a table like {{ min_delay = 0.3, max_delay = 1.5 }}")
    unknown = sorted(set(raw) - END_OF_TURN_KEYS)
    if unknown:
        fail(key_pattern, f"{where}: unknown key {unknown[0]!r} in end_of_turn (use min_delay, max_delay)")
    values: dict[str, float] = {}
    for key in END_OF_TURN_KEYS & set(raw):
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_END_OF_TURN_DELAY:
            fail(key_pattern, f"{where}: `{key}` must be a number of seconds from 0 to {MAX_END_OF_TURN_DELAY:g}")
        values[key] = float(value)
    if "min_delay" in values and "max_delay" in values and values["min_delay"] > values["max_delay"]:
        fail(key_pattern, f"{where}: end_of_turn min_delay is larger than max_delay")
    return EndOfTurn(values.get("min_delay"), values.get("max_delay"))


def _build_field(raw: dict[str, Any], fail: Any) -> FieldSpec:
    unknown = sorted(set(raw) - FIELD_KEYS)
    if unknown:
        fail(rf"^[ \t]*{re.escape(unknown[0])}\s*=", f"unknown key {unknown[0]!r} in field")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
        fail(r"^[ \t]*name\s*=", "field needs a `name` of lowercase letters, digits and underscores")
    ftype = raw.get("type", "text")
    if ftype not in FIELD_TYPES:
        fail(r"^[ \t]*type\s*=", f"field {name!r}: unknown type {ftype!r} (use one of {', '.join(FIELD_TYPES)})")
    questions = raw.get("questions")
    if (not isinstance(questions, list) or not questions
            or not all(isinstance(q, str) and q.strip() for q in questions)):
        fail(r"^[ \t]*questions\s*=", f"field {name!r} needs `questions`, a non-empty list of strings")
    choices = raw.get("choices", [])
    if ftype == "choice" and (not isinstance(choices, list) or not choices):
        fail(r"^[ \t]*type\s*=", f"field {name!r} is a choice but has no `choices`")
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            fail(r"^[ \t]*pattern\s*=", f"field {name!r}: bad regex in `pattern`: {exc}")
    normalizer = raw.get("normalizer")
    if normalizer is not None and normalizer not in NORMALIZERS:
        fail(r"^[ \t]*normalizer\s*=", f"field {name!r}: unknown normalizer {normalizer!r}")
    for key in ("min", "max"):
        if key in raw and (ftype != "integer" or not isinstance(raw[key], int)):
            fail(rf"^[ \t]*{key}\s*=", f"field {name!r}: `{key}` needs an integer field and an integer value")
    if "stt_prompt" in raw and not isinstance(raw["stt_prompt"], str):
        fail(r"^[ \t]*stt_prompt\s*=", f"field {name!r}: `stt_prompt` must be a string")
    if "region" in raw and not (isinstance(raw["region"], str) and re.fullmatch(r"[A-Z]{2}", raw["region"])):
        fail(r"^[ \t]*region\s*=", f"field {name!r}: `region` must be a two-letter country code like \"US\"")
    if "read_back_below" in raw and not _is_share(raw["read_back_below"]):
        fail(r"^[ \t]*read_back_below\s*=", f"field {name!r}: `read_back_below` must be a number from 0 to 1")
    for key in ("required", "confirm"):
        if key in raw and not isinstance(raw[key], bool):
            fail(rf"^[ \t]*{key}\s*=", f"field {name!r}: `{key}` must be true or false")
    return FieldSpec(
        name=name, label=str(raw.get("label") or name.replace("_", " ")), type=ftype,
        questions=tuple(q.strip() for q in questions), required=raw.get("required", True),
        confirm=raw.get("confirm", False), hint=raw.get("hint"), choices=tuple(str(c) for c in choices),
        min=raw.get("min"), max=raw.get("max"), pattern=pattern, normalizer=normalizer,
        stt_prompt=(raw.get("stt_prompt") or "").strip() or None, region=raw.get("region"),
        read_back_below=float(raw["read_back_below"]) if "read_back_below" in raw else None,
        end_of_turn=_end_of_turn(raw.get("end_of_turn"), f"field {name!r}", r"^[ \t]*end_of_turn\s*=", fail),
    )


def _is_share(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def parse_definition(text: str, path: Path) -> InterviewDefinition:
    """Parse and check the TOML text; `path` is only used in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise InterviewDefinitionError(path, line, f"TOML syntax error: {exc}") from None

    def fail_top(pattern: str, reason: str, start: int = 0) -> None:
        raise InterviewDefinitionError(path, _line_of(text, pattern, start), reason)

    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        fail_top(rf"^[ \t]*{re.escape(unknown[0])}\s*=", f"unknown top-level key {unknown[0]!r}")
    for key in ("greeting", "goodbye"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            fail_top(rf"^[ \t]*{key}\s*=", f"missing or empty `{key}`")
    max_attempts = data.get("max_attempts", 2)
    if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 0:
        fail_top(r"^[ \t]*max_attempts\s*=", "`max_attempts` must be a whole number, 0 or more")
    read_back_below = data.get("read_back_below", DEFAULT_READ_BACK_BELOW)
    if not _is_share(read_back_below):
        fail_top(r"^[ \t]*read_back_below\s*=", "`read_back_below` must be a number from 0 to 1")
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        fail_top(r"^[ \t]*\[\[\s*fields", "the interview needs at least one [[fields]] entry")

    read_back = _end_of_turn(data.get("read_back_end_of_turn"), "read_back_end_of_turn",
                             r"^[ \t]*read_back_end_of_turn\s*=", fail_top)
    blocks = _field_blocks(text)
    specs: list[FieldSpec] = []
    for index, raw in enumerate(raw_fields):
        start = blocks[index] if index < len(blocks) else 0
        end = blocks[index + 1] if index + 1 < len(blocks) else None

        def fail(pattern: str, reason: str, start: int = start, end: int | None = end) -> None:
            line = _line_of(text, pattern, start, end) or _line_of(text, r"^[ \t]*\[\[\s*fields", start)
            raise InterviewDefinitionError(path, line, reason)

        spec = _build_field(raw, fail)
        if any(s.name == spec.name for s in specs):
            fail(rf"^[ \t]*name\s*=\s*[\"']{re.escape(spec.name)}[\"']", f"duplicate field name {spec.name!r}")
        specs.append(spec)
    return InterviewDefinition(greeting=data["greeting"].strip(), goodbye=data["goodbye"].strip(),
                               fields=specs, max_attempts=max_attempts, read_back_below=float(read_back_below),
                               path=path, read_back_end_of_turn=read_back)


def load_definition(path: Path = DEFAULT_DEFINITION_PATH) -> InterviewDefinition:
    """Read and check an interview file; raises InterviewDefinitionError naming path and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InterviewDefinitionError(path, None, f"cannot read interview file: {exc}") from None
    return parse_definition(text, path)
