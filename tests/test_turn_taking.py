"""End of turn per question (the definition's keys, the session's options) and an answer split by a pause taken
whole. The spoken pause through the real worker is in test_density.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from livekit.agents import AgentSession, llm
from livekit.agents.voice.events import UserInputTranscribedEvent

from onboarding.call import InterviewCall
from onboarding.interview import InterviewDefinitionError, InterviewState, load_definition, parse_definition
from onboarding.providers.selection import build_speech_stack
from onboarding.settings import Settings
from onboarding.turn_taking import HEARD_ENOUGH, MergingInterviewer, endpointing_for, is_continuation

HEAD = 'greeting = "Hi."\ngoodbye = "Bye."\n'
FIELD = '\n[[fields]]\nname = "email"\ntype = "email"\nquestions = ["Email?"]\n'


def parse(text: str):
    return parse_definition(text, Path("interview.toml"))


def test_the_shipped_definition_sets_longer_waits_for_email_and_phone_and_short_read_backs() -> None:
    definition = load_definition()
    assert definition.field("email").end_of_turn.max_delay == definition.field("phone").end_of_turn.max_delay == 1.5
    assert definition.field("full_name").end_of_turn is None
    assert definition.read_back_end_of_turn.max_delay <= 0.5


def test_end_of_turn_keys_parse() -> None:
    definition = parse(HEAD + "read_back_end_of_turn = { max_delay = 0.4 }\n"
                       + FIELD + "end_of_turn = { min_delay = 0.5, max_delay = 2 }\n")
    assert definition.field("email").end_of_turn.min_delay == 0.5
    assert definition.field("email").end_of_turn.max_delay == 2.0
    assert definition.read_back_end_of_turn.min_delay is None and definition.read_back_end_of_turn.max_delay == 0.4


@pytest.mark.parametrize(("extra", "line", "reason"), [
    ('end_of_turn = { max_delay = "long" }\n', 8, "`max_delay` must be a number of seconds from 0 to 10"),
    ("end_of_turn = { max_delay = 11 }\n", 8, "`max_delay` must be a number of seconds from 0 to 10"),
    ("end_of_turn = { min_delay = 1.0, max_delay = 0.5 }\n", 8, "min_delay is larger than max_delay"),
    ("end_of_turn = { pause = 1.0 }\n", 8, "unknown key 'pause' in end_of_turn"),
    ("end_of_turn = 1.5\n", 8, "`end_of_turn` must be a table"),
])
def test_bad_end_of_turn_names_the_line(extra: str, line: int, reason: str) -> None:
    with pytest.raises(InterviewDefinitionError) as caught:
        parse(HEAD + FIELD + extra)
    assert caught.value.line == line and reason in caught.value.reason


def test_bad_read_back_end_of_turn_names_its_line() -> None:
    with pytest.raises(InterviewDefinitionError) as caught:
        parse(HEAD + "read_back_end_of_turn = { max_delay = -1 }\n" + FIELD)
    assert caught.value.line == 3 and "read_back_end_of_turn" in caught.value.reason


def test_delays_follow_what_the_interview_awaits() -> None:
    state = InterviewState(load_definition())
    assert endpointing_for(state, 0.3, 0.65) == {"min_delay": 0.3, "max_delay": 0.65}  # the name: global
    state.handle("My name is Maria Garcia.", 1)
    assert state.pending_confirmation == "full_name"
    assert endpointing_for(state, 0.3, 0.65) == {"min_delay": 0.25, "max_delay": 0.4}  # a yes or no
    state.handle("Yes.", 2)
    assert state.current.name == "email"
    assert endpointing_for(state, 0.3, 0.65) == {"min_delay": 0.3, "max_delay": 1.5}  # a spelled email
    assert endpointing_for(state, 0.3, 0.65, heard="m a r i a") == {"min_delay": 0.3, "max_delay": 1.5}
    state.handle("maria at example dot com", 3)
    state.handle("Yes.", 4)
    assert state.current.name == "company"
    assert endpointing_for(state, 0.3, 0.65) == {"min_delay": 0.3, "max_delay": 0.65}
    for _ in range(4):
        state.handle("Twenty-five." if state.current.name == "team_size" else "Acme Corp", 5)
    assert state.current.name == "phone"  # a long wait for digits read out in groups...
    assert endpointing_for(state, 0.3, 0.65, heard="five five five") == {"min_delay": 0.3, "max_delay": 1.5}
    # ...but a caller who only says "Skip." is done: no long wait for it
    assert endpointing_for(state, 0.3, 0.65, heard="Skip.") == {"min_delay": 0.25, "max_delay": 0.4}


async def test_the_session_runs_with_the_delays_of_the_awaited_field() -> None:
    """The call sets them on its real AgentSession as the interview moves on (what the running session uses)."""
    settings = Settings(_env_file=None)
    definition = load_definition()
    call = InterviewCall(None, settings, build_speech_stack(settings), definition, agent=None)  # type: ignore[arg-type]
    call.session = AgentSession(turn_handling={"endpointing": dict(call._apply_end_of_turn())})
    assert call.session.options.endpointing["max_delay"] == 0.65
    call.state.handle("My name is Maria Garcia.", 1)
    call._apply_end_of_turn()
    assert (call.session.options.endpointing["min_delay"], call.session.options.endpointing["max_delay"]) == (0.25,
                                                                                                            0.4)
    call.state.handle("Yes.", 2)
    call._apply_end_of_turn()
    assert call.session.options.endpointing["max_delay"] == 1.5
    # the caller's words arrive before the end-of-turn decision: a lone "No thanks." is not made to wait 1.5 s
    call._on_transcribed(UserInputTranscribedEvent(transcript="No thanks.", is_final=True))
    assert call.session.options.endpointing["max_delay"] == 0.4


# --- an answer split in two by a pause -----------------------------------------------------------------
def user(text: str, start: float, end: float) -> llm.ChatMessage:
    return llm.ChatMessage(role="user", content=[text],
                           metrics={"started_speaking_at": start, "stopped_speaking_at": end})


def agent(text: str, started: float | None) -> llm.ChatMessage:
    metrics = {"started_speaking_at": started, "stopped_speaking_at": started + 1} if started else {}
    return llm.ChatMessage(role="assistant", content=[text], interrupted=True, metrics=metrics)


def test_a_continuation_starts_before_the_caller_can_have_heard_the_reply() -> None:
    now = time.time()
    first = user("Jeff", now, now + 0.5)
    second = user("Ronson Smith.", now + 1.4, now + 2.2)
    assert is_continuation([first, second], first, second)  # no reply audio yet
    early = agent("I heard Jeff. Is that right?", now + 1.2)
    assert is_continuation([first, early, second], first, second)  # 0.2 s of the reply
    heard = agent("I heard Jeff. Is that right?", now + 1.4 - HEARD_ENOUGH - 0.3)
    assert not is_continuation([first, heard, second], first, second)  # heard it: an answer to it
    later = user("Ronson Smith.", now + 4.0, now + 4.8)
    assert not is_continuation([first, later], first, later)  # too long after
    no = user("No, Jeff Ronson Smith.", now + 1.4, now + 2.2)
    assert not is_continuation([first, no], first, no)  # a reply to the agent, not more of the answer


def chat(*items: llm.ChatMessage) -> llm.ChatContext:
    return llm.ChatContext(items=list(items))


def test_the_interviewer_takes_both_parts_as_one_answer() -> None:
    replies = []
    interviewer = MergingInterviewer(InterviewState(load_definition()), on_reply=lambda m, r: replies.append(r))
    interviewer.reply_for(chat())  # the greeting and the name question
    now = time.time()
    first = user("Jeff", now, now + 0.5)
    assert "I heard Jeff." in interviewer.reply_for(chat(first)).text
    second = user("Ronson Smith.", now + 1.3, now + 2.0)
    reply = interviewer.reply_for(chat(first, agent("I heard Jeff. Is that right?", now + 1.1), second))
    assert interviewer.merges == 1
    assert interviewer.state.pending_value == "Jeff Ronson Smith" and "I heard Jeff Ronson Smith." in reply.text
    third = user("Yes.", now + 5.0, now + 5.4)  # after hearing the read-back in full
    heard = agent("I heard Jeff Ronson Smith. Is that right?", now + 2.6)
    interviewer.reply_for(chat(first, second, heard, third))
    assert interviewer.state.values["full_name"] == "Jeff Ronson Smith" and interviewer.merges == 1
    assert interviewer.state.current.name == "email"


def test_a_no_said_before_the_merged_read_back_was_heard_gets_it_read_again() -> None:
    """Under load: "Maria … Garcia", the agent reads back "Maria" in the pause, the caller's "No." to that comes as
    the agent goes on to read back "Maria Garcia": it answers what the caller heard, so the new read-back is asked
    again, not rejected; a reply given after hearing it is taken."""
    interviewer = MergingInterviewer(InterviewState(load_definition()))
    interviewer.reply_for(chat())
    now = time.time()
    first = user("My name is Maria.", now, now + 1.0)
    interviewer.reply_for(chat(first))
    short = agent("I heard Maria. Is that right?", now + 1.8)
    second = user("Garcia.", now + 2.2, now + 2.7)
    interviewer.reply_for(chat(first, short, second))
    assert interviewer.merges == 1 and interviewer.state.pending_value == "Maria Garcia"
    merged = agent("I heard Maria Garcia. Is that right?", now + 5.0)
    no = user("No.", now + 5.3, now + 5.6)  # 0.3 s into the new read-back: said to the old one
    reply = interviewer.reply_for(chat(first, short, second, merged, no))
    assert interviewer.state.pending_value == "Maria Garcia" and "I heard Maria Garcia" in reply.text
    assert interviewer.state.awaiting_spelling is None  # not taken as a rejection
    heard = agent(reply.text, now + 6.0)
    yes = user("Yes.", now + 9.0, now + 9.3)
    interviewer.reply_for(chat(first, short, second, merged, no, heard, yes))
    assert interviewer.state.values["full_name"] == "Maria Garcia"


def test_a_reply_before_any_read_back_played_is_asked_again_once_then_taken() -> None:
    """No agent audio since the caller's last answer: a yes or no cannot answer the read-back not yet heard. It is
    re-read once per value: a call whose reply audio never reports timing cannot loop."""
    interviewer = MergingInterviewer(InterviewState(load_definition()))
    interviewer.reply_for(chat())
    now = time.time()
    name = user("My name is Maria Garcia.", now, now + 1.5)
    interviewer.reply_for(chat(name))
    yes = user("Yes.", now + 9.0, now + 9.3)
    again = interviewer.reply_for(chat(name, yes))
    assert "I heard Maria Garcia" in again.text and "full_name" not in interviewer.state.values
    yes_again = user("Yes.", now + 12.0, now + 12.3)
    interviewer.reply_for(chat(name, yes, yes_again))
    assert interviewer.state.values["full_name"] == "Maria Garcia"
    untimed = MergingInterviewer(InterviewState(load_definition()))  # typed or text-only: taken as said
    untimed.reply_for(chat())
    untimed.reply_for(chat(llm.ChatMessage(role="user", content=["Maria Garcia"])))
    untimed.reply_for(chat(llm.ChatMessage(role="user", content=["Yes."])))
    assert untimed.state.values["full_name"] == "Maria Garcia"


def test_a_yes_to_a_read_back_heard_in_full_is_taken_whatever_came_between() -> None:
    """A review's cases: the read-back was heard, then a re-prompt began as the caller said yes; or a sound of the
    caller's became a turn of its own before the yes; or a breath set the yes's start before the read-back began
    (its end is the time that counts). Each yes is taken."""
    now = time.time()
    for between, yes in (
            ([agent("Sorry, I d", now + 10.2)], user("Yes.", now + 10.0, now + 10.3)),
            ([user("Hmm.", now + 6.0, now + 6.4)], user("Yes, that's right.", now + 7.0, now + 7.6)),
            ([], user("Yes.", now + 2.6, now + 6.3))):
        interviewer = MergingInterviewer(InterviewState(load_definition()))
        interviewer.reply_for(chat())
        name = user("My name is Maria Garcia.", now, now + 1.5)
        read_back = agent(interviewer.reply_for(chat(name)).text, now + 2.5)
        interviewer.reply_for(chat(name, read_back, *between))
        interviewer.reply_for(chat(name, read_back, *between, yes))
        assert interviewer.state.values.get("full_name") == "Maria Garcia", (between, yes.text_content)


def test_a_value_accepted_from_the_first_part_is_replaced_by_the_whole_answer() -> None:
    state = InterviewState(load_definition())
    for turn, text in enumerate(["Maria Garcia", "Yes.", "maria at example dot com", "Yes."], 1):
        state.handle(text, turn)
    interviewer = MergingInterviewer(state)
    interviewer.opened = True
    now = time.time()
    first = user("Acme", now, now + 0.4)
    interviewer.reply_for(chat(first))
    assert state.values["company"] == "Acme"  # a company is not read back: stored at once
    second = user("Corporation.", now + 1.0, now + 1.6)
    interviewer.reply_for(chat(first, second))
    assert state.values["company"] == "Acme Corporation" and state.current.name == "role"


def test_a_snapshot_of_the_state_shares_the_stts_readings_callback() -> None:
    """The split-answer merge snapshots the state; `hearing` is a bound method of the STT, whose process handles
    cannot be copied (multiprocessing refuses to pickle its AuthenticationString), so it is shared, not copied."""
    import copy
    import multiprocessing

    class Stt:
        def __init__(self) -> None:
            self.key = multiprocessing.current_process().authkey  # what a real STT's executor holds

        def readings(self, text: str) -> list[str]:
            return [text]

    state = InterviewState(load_definition())
    state.hearing = Stt().readings
    state.handle("My name is Maria Garcia.", 1)
    snapshot = copy.deepcopy(state)
    assert snapshot.hearing is state.hearing and snapshot.definition is state.definition
    assert snapshot.values == state.values and snapshot.values is not state.values
    snapshot.handle("Yes.", 2)
    assert "full_name" not in state.values  # the original is untouched by what the copy hears


def test_a_part_whose_transcript_came_after_the_commit_continues_the_answer() -> None:
    """livekit-agents commits a turn once the caller has been quiet for the end-of-turn delay, even while the last
    part's transcript is still being made; that part then comes as a turn of its own with no timing (its speech
    was before the commit). Seen: an email spelled with key words whose tail was stored as the company."""
    now = time.time()
    head = user("D as in Delta, A as in Alpha, N as in November,", now - 9, now - 1.2)
    head.created_at = now
    tail = llm.ChatMessage(role="user", content=["A as in Alpha, at gmail dot com."], metrics={})
    tail.created_at = now + 0.4
    reply = agent("No problem, someone will follow up. What company are you with?", now + 0.1)
    assert is_continuation([head, reply, tail], head, tail)
    late = llm.ChatMessage(role="user", content=["Acme."], metrics={})
    late.created_at = now + 8
    assert not is_continuation([head, reply, late], head, late)  # not soon after: an answer of its own
    no = llm.ChatMessage(role="user", content=["No."], metrics={})
    no.created_at = now + 0.4
    assert not is_continuation([head, reply, no], head, no)  # a reply to the agent, never more of the answer
