"""The interview file: the default loads, and every kind of mistake names the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from onboarding.interview import (
    DEFAULT_DEFINITION_PATH,
    InterviewDefinitionError,
    load_definition,
)

HEAD = 'greeting = "Hi."\ngoodbye = "Bye."\nmax_attempts = 2\n'
GOOD_FIELD = '\n[[fields]]\nname = "full_name"\ntype = "person_name"\nquestions = ["Your name?"]\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "interview.toml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return lines[occurrence - 1]


def test_default_definition_loads() -> None:
    definition = load_definition(DEFAULT_DEFINITION_PATH)
    assert DEFAULT_DEFINITION_PATH.name == "interview.toml" and DEFAULT_DEFINITION_PATH.parent.name == "data"
    assert definition.names == ["full_name", "email", "company", "role", "team_size", "primary_goal", "phone",
                                "timezone"]
    assert definition.max_attempts == 2
    assert definition.field("team_size").min == 1 and definition.field("team_size").max == 1_000_000
    assert definition.field("email").confirm and definition.field("full_name").confirm
    assert not definition.field("phone").required and not definition.field("timezone").required
    assert definition.field("company").kind == "company"
    with pytest.raises(KeyError):
        definition.field("nope")


@pytest.mark.parametrize(("body", "needle", "reason"), [
    (GOOD_FIELD + '\n[[fields]]\nname = "email"\ntype = "emial"\nquestions = ["Email?"]\n', 'type = "emial"',
     "unknown type 'emial'"),
    (GOOD_FIELD + '\n[[fields]]\nlabel = "email"\ntype = "email"\nquestions = ["Email?"]\n', "[[fields]]",
     "needs a `name`"),
    (GOOD_FIELD + '\n[[fields]]\nname = "email"\ntype = "email"\n', "[[fields]]", "needs `questions`"),
    (GOOD_FIELD + '\n[[fields]]\nname = "email"\ntype = "email"\nquestions = []\n', "questions = []",
     "needs `questions`"),
    (GOOD_FIELD + GOOD_FIELD, 'name = "full_name"', "duplicate field name 'full_name'"),
    (GOOD_FIELD + '\n[[fields]]\nname = "plan"\ntype = "choice"\nquestions = ["Plan?"]\n', 'type = "choice"',
     "choice but has no `choices`"),
    (GOOD_FIELD + '\n[[fields]]\nname = "code"\ntype = "text"\nquestions = ["Code?"]\npattern = "[a-z"\n',
     "pattern =", "bad regex"),
    (GOOD_FIELD + '\n[[fields]]\nname = "code"\ntype = "text"\nquestions = ["Code?"]\nrequird = true\n',
     "requird", "unknown key 'requird'"),
    ('colour = "blue"\n' + GOOD_FIELD, "colour", "unknown top-level key 'colour'"),
    (GOOD_FIELD + '\n[[fields]]\nname = "size"\ntype = "integer"\nquestions = ["Size?"]\nmin = "one"\n',
     "min =", "`min`"),
    (GOOD_FIELD + '\n[[fields]]\nname = "tz"\ntype = "text"\nquestions = ["Zone?"]\nstt_prompt = 5\n',
     "stt_prompt =", "`stt_prompt` must be a string"),
])
def test_semantic_errors_name_path_line_and_reason(tmp_path: Path, body: str, needle: str, reason: str) -> None:
    text = HEAD + body
    path = write(tmp_path, text)
    occurrence = 2 if "duplicate" in reason or needle == "[[fields]]" else 1
    with pytest.raises(InterviewDefinitionError) as info:
        load_definition(path)
    message = str(info.value)
    assert str(path) in message
    assert info.value.line == line_of(text, needle, occurrence)
    assert f"{path}:{info.value.line}:" in message
    assert reason in message


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = HEAD + GOOD_FIELD + 'hint = "unterminated\n'
    path = write(tmp_path, text)
    with pytest.raises(InterviewDefinitionError) as info:
        load_definition(path)
    assert info.value.line == line_of(text, "hint =")
    assert str(path) in str(info.value) and "TOML syntax error" in str(info.value)


def test_missing_greeting_and_fields(tmp_path: Path) -> None:
    with pytest.raises(InterviewDefinitionError, match="missing or empty `greeting`"):
        load_definition(write(tmp_path, 'goodbye = "Bye."\n' + GOOD_FIELD))
    with pytest.raises(InterviewDefinitionError, match=r"at least one \[\[fields\]\]"):
        load_definition(write(tmp_path, HEAD))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InterviewDefinitionError, match="cannot read"):
        load_definition(tmp_path / "nope.toml")
