"""What the funnel needs the writers to note: which field each agent turn asks for, and which interview
definition ran the call. Pure functions over the interview (no storage), used by both doors."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from onboarding.interview import InterviewDefinition, InterviewState


def asked_field(state: InterviewState) -> dict[str, Any]:
    """The field the agent's latest words ask for (`read_back`: a value read back for a yes/no), as
    `CallRecorder.annotate_turn` takes them; None once the interview is over or while it asks whether to stop."""
    if state.finished or state.asking_to_stop:
        return {"asked_field": None, "read_back": False}
    if state.pending_confirmation:
        return {"asked_field": state.pending_confirmation, "read_back": True}
    current = state.current
    return {"asked_field": current.name if current else None, "read_back": False}


def definition_hash(definition: InterviewDefinition) -> str:
    """12 hex digits naming a version of the interview: its fields, questions and rules, not its file's comments,
    layout or location, so a reformatted file keeps its version and a changed question starts a new one."""
    content = dataclasses.asdict(definition)
    content.pop("path", None)
    text = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
