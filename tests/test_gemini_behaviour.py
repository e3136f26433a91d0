"""The Gemini path when the model does NOT behave like our scripted rules: scripted model turns (the fake's
`ModelScript`, not the brain that replays our interview) that paraphrase `heard`, record a read-back field before
reading it back, give values the normaliser refuses, read back in free text and then fail, and skip a required
field before finishing. What must hold is the product's: provenance from the STT turn, read-back enforced, a
refused value never stored, and an interview that can end completed with the field flagged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from livekit.agents import Agent, AgentSession, llm

from harness.fakes.gemini import FakeGemini
from harness.fakes.gemini_brain import ModelScript, call, say
from harness.fakes.settings import cloud_settings
from onboarding.interview import InterviewState, load_definition
from onboarding.providers.fallback import ProviderMonitor
from onboarding.providers.selection import build_interviewer
from onboarding.settings import Settings

BASE = Settings(_env_file=None)
DEFINITION = load_definition()
NAME_Q = DEFINITION.field("full_name").question
EMAIL_Q = DEFINITION.field("email").question


class Hooked:
    """An interviewer on a fresh state whose reply hook keeps what the call would store."""

    def __init__(self, settings: Settings) -> None:
        self.state = InterviewState(DEFINITION)
        self.replies: list = []
        self.monitor = ProviderMonitor()
        self.interviewer = build_interviewer(settings, self.state, lambda m, r: self.replies.append(r), self.monitor)

    @property
    def updates(self) -> list:
        return [u for r in self.replies for u in r.updates]


@pytest.fixture
async def scripted(fake_gemini: FakeGemini) -> AsyncIterator:
    """A text-mode session whose model follows `steps` (one per request) instead of our rules."""
    sessions: list[AgentSession] = []

    async def start(*steps) -> tuple[Hooked, AgentSession]:
        fake_gemini.script = ModelScript(list(steps))
        hooked = Hooked(cloud_settings(BASE, gemini=fake_gemini))
        agent = Agent(instructions="set by prepare()")
        await hooked.interviewer.prepare(agent)
        session = AgentSession(llm=hooked.interviewer)
        await session.start(agent)
        sessions.append(session)
        return hooked, session

    yield start
    for session in sessions:
        await session.aclose()


def said(result) -> str:
    return " ".join(e.item.text_content for e in result.events if e.type == "message")


def tool_errors(result) -> list[str]:
    return [e.item.output for e in result.events if e.type == "function_call_output" and e.item.is_error]


async def test_a_paraphrased_heard_still_points_at_the_turn_and_its_transcript(scripted) -> None:
    hooked, session = await scripted(
        say("I heard Maria Garcia. Is that right?"),
        call("record_field", field="full_name", heard="she says she is called maria garcia", value="maria garcia"),
        say(f"Thanks Maria. {EMAIL_Q}"),
    )
    await session.run(user_input="Um, my name is Maria Garcia.")
    assert hooked.state.values == {}
    await session.run(user_input="Yes.")
    [update] = hooked.updates
    assert (update.field, update.value, update.turn_index) == ("full_name", "Maria Garcia", 1)
    assert update.raw == "Um, my name is Maria Garcia."  # the STT transcript, not the model's paraphrase


async def test_a_read_back_field_recorded_without_a_read_back_is_not_stored(scripted) -> None:
    hooked, session = await scripted(
        call("record_field", field="email", heard="maria at example", value="maria@example.com"),
        say("Sorry. I heard m-a-r-i-a at example dot com. Is that right?"),
        call("record_field", field="email", heard="yes", value="maria@example.com"),
        say(f"Great. {NAME_Q}"),
    )
    first = await session.run(user_input="It's maria at example dot com.")
    assert hooked.state.values == {} and hooked.state.pending_confirmation == "email"
    [refusal] = tool_errors(first)
    assert "must be read back first" in refusal and "m-a-r-i-a at example dot com" in refusal
    await session.run(user_input="Yes, that's right.")
    assert hooked.state.values == {"email": "maria@example.com"}
    [update] = hooked.updates
    assert update.turn_index == 1 and update.raw == "It's maria at example dot com."


async def test_a_yes_to_another_question_does_not_confirm(scripted) -> None:
    """The model records after a yes, but its last words were not a read-back of that value."""
    hooked, session = await scripted(
        say("Great, and is this for work?"),
        call("record_field", field="full_name", heard="Maria Garcia", value="Maria Garcia"),
        say("Okay."),
    )
    await session.run(user_input="My name is Maria Garcia.")
    result = await session.run(user_input="Yes.")
    assert hooked.state.values == {} and "must be read back first" in tool_errors(result)[0]


async def test_values_the_normaliser_refuses_go_back_to_the_model(scripted) -> None:
    hooked, session = await scripted(
        call("record_field", field="phone", heard="plus four four seven nine one one", value="+44 7911 12345"),
        say("Sorry, could you say the number again?"),
        call("record_field", field="team_size", heard="zero", value="0"),
        say("How many people?"),
    )
    first = await session.run(user_input="plus four four seven nine one one one two three four five")
    assert "valid phone number" in tool_errors(first)[0]
    second = await session.run(user_input="zero")
    assert "between 1 and 1000000" in tool_errors(second)[0]
    assert hooked.state.values == {} and hooked.updates == []


async def test_read_back_in_free_text_then_a_fault_the_yes_still_confirms(scripted, fake_gemini) -> None:
    """Gemini read the name back in its own words, then failed on the caller's yes: the scripted rules take the
    answer it read back, and the yes confirms it (it does not ask for the name again)."""
    hooked, session = await scripted(say("Lovely, so that's Maria Garcia, correct?"))
    fake_gemini.fault.mode, fake_gemini.fail_after_requests = "http500", 1
    await session.run(user_input="My name is Maria Garcia.")
    reply = said(await session.run(user_input="Yes."))
    assert hooked.state.values == {"full_name": "Maria Garcia"}
    assert "email" in reply.lower()
    [update] = hooked.updates
    assert update.turn_index == 1 and update.raw == "My name is Maria Garcia." and update.source == "confirmation"
    [fallback] = hooked.monitor.fallbacks
    assert fallback["to"] == "scripted"


async def test_a_required_field_skipped_then_finish_ends_completed_with_the_flag(scripted) -> None:
    values = {"full_name": "Maria Garcia", "company": "Acme Corp", "role": "Product Manager", "team_size": 12,
              "primary_goal": "We want faster onboarding", "timezone": "London"}
    hooked, session = await scripted(
        call("skip_field", field="email"),
        say("No problem, someone will follow up about your email."),
        call("finish", reason="completed"),
        say("Thanks, goodbye."),
    )
    state = hooked.state
    for index, (name, text) in enumerate(values.items(), start=1):
        state.record(name, str(text), index)
    await session.run(user_input="I really don't have an email address I can give you.")
    assert "email" in state.flagged
    result = await session.run(user_input="Okay, thanks.")
    assert tool_errors(result) == []
    assert state.finished and not state.ended_by_caller
    outcome = state.outcome()
    assert (outcome.status, outcome.profile_complete) == ("completed", False)
    assert [r.done for r in hooked.replies][-1]


def test_finish_still_refuses_a_required_field_nobody_asked(fake_gemini) -> None:
    hooked = Hooked(cloud_settings(BASE, gemini=fake_gemini))
    hooked.state.flagged.append("email")
    with pytest.raises(llm.ToolError, match="still missing full_name, company, role, team_size, primary_goal") as err:
        hooked.interviewer.toolbox.finish("completed")
    assert "email" not in str(err.value)  # flagged for staff: no longer blocks the end
