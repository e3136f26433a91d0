"""The interview: defined once as data, normalised from speech, driven by one plain state object."""

from onboarding.interview.definition import (
    DEFAULT_DEFINITION_PATH,
    FIELD_TYPES,
    FieldSpec,
    InterviewDefinition,
    InterviewDefinitionError,
    load_definition,
    parse_definition,
)
from onboarding.interview.normalize import (
    Normalized,
    classify_reply,
    normalize_value,
    speakable,
    spell_out_email,
    strip_correction,
)
from onboarding.interview.state import FieldUpdate, InterviewState, Outcome, Reply

__all__ = [
    "DEFAULT_DEFINITION_PATH", "FIELD_TYPES", "FieldSpec", "FieldUpdate", "InterviewDefinition",
    "InterviewDefinitionError", "InterviewState", "Normalized", "Outcome", "Reply", "classify_reply", "load_definition",
    "normalize_value", "parse_definition", "speakable", "spell_out_email", "strip_correction",
]
