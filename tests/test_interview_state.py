"""Conversations with the rule-based interviewer, turn by turn, against the default interview file."""

from __future__ import annotations

import pytest

from onboarding.interview import InterviewState, Reply, load_definition, prompts

DEFINITION = load_definition()


def talk(state: InterviewState, *utterances: str) -> list[Reply]:
    """Feed caller utterances in order; returns the interviewer's replies."""
    start = sum(len(h) for h in state.history.values()) + 100
    return [state.handle(text, start + i) for i, text in enumerate(utterances)]


@pytest.fixture
def state() -> InterviewState:
    s = InterviewState(DEFINITION)
    s.opening()
    return s


def test_opening_greets_and_asks_first_question() -> None:
    reply = InterviewState(DEFINITION).opening()
    assert reply.text.startswith(DEFINITION.greeting)
    assert DEFINITION.fields[0].question in reply.text
    assert not reply.done and reply.updates == []


def test_happy_path(state: InterviewState) -> None:
    replies = talk(
        state,
        "My name is Maria Garcia.", "Yes.",
        "maria dot garcia at example dot com", "yes, that's right",
        "Acme Corp.", "Product manager.", "About 20.", "We want to onboard customers faster.",
        "four one five five five five zero one three two", "Yes.", "Pacific time",
    )
    assert "I heard Maria Garcia. Is that right?" in replies[0].text
    assert "m-a-r-i-a dot g-a-r-c-i-a at example dot com" in replies[2].text
    assert replies[-1].done and not replies[-1].ended_by_caller
    assert DEFINITION.goodbye in replies[-1].text
    assert state.values == {
        "full_name": "Maria Garcia", "email": "maria.garcia@example.com", "company": "Acme Corp",
        "role": "Product Manager", "team_size": 20, "primary_goal": "We want to onboard customers faster",
        "phone": "+14155550132", "timezone": "America/Los_Angeles",
    }
    assert state.finished and state.missing_required() == [] and not state.flagged and not state.skipped
    assert state.history["full_name"][0].source == "confirmation"
    assert state.history["company"][0].source == "answer"
    for reply in replies:
        assert "*" not in reply.text and "#" not in reply.text


def test_one_answer_fills_several_fields(state: InterviewState) -> None:
    reply = state.handle("I'm Maria, PM at Acme", 1)
    assert {u.field: u.value for u in reply.updates} == {"role": "Product Manager", "company": "Acme"}
    assert "I heard Maria. Is that right?" in reply.text
    talk(state, "yes", "maria at example dot com", "yes")
    # company and role were volunteered, so the next question is team size
    assert state.current is not None and state.current.name == "team_size"


def test_volunteered_fields_are_not_overwritten_and_current_is_still_asked(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes", "Globex")
    reply = state.handle("I'm a designer at Initech with a team of about twenty", 10)
    assert state.values["company"] == "Globex"
    assert state.values["role"] == "Designer" and state.values["team_size"] == 20
    assert DEFINITION.field("primary_goal").question in reply.text


def test_multi_field_without_current_answer_asks_current_again(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes")
    reply = state.handle("We're a team of eight", 5)
    assert state.values["team_size"] == 8
    assert DEFINITION.field("company").question in reply.text


def test_correction_mid_interview_keeps_history(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes", "Acme")
    reply = state.handle("actually my name is Mariana Garcia", 7)
    assert "I heard Mariana Garcia. Is that right?" in reply.text
    reply = state.handle("yes", 8)
    assert [u.value for u in state.history["full_name"]] == ["Maria Garcia", "Mariana Garcia"]
    assert reply.updates[0].previous == "Maria Garcia" and reply.updates[0].source == "correction"
    assert DEFINITION.field("role").question in reply.text  # back to where we were


def test_correction_of_unconfirmed_field_applies_at_once(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes", "Acme")
    reply = state.handle("change my company to Initech", 9)
    assert state.values["company"] == "Initech"
    assert reply.updates[0].source == "correction" and reply.updates[0].previous == "Acme"
    assert "changed your company to Initech" in reply.text
    assert [u.value for u in state.history["company"]] == ["Acme", "Initech"]


def test_correction_without_field_name_goes_to_last_answer(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes", "Acme")
    state.handle("sorry, it's Initech", 9)
    assert state.values["company"] == "Initech"


def test_sorry_my_email_is_updates_email(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes", "Acme")
    reply = state.handle("sorry, my email is maria dot g at example dot com", 9)
    assert "m-a-r-i-a dot g at example dot com" in reply.text
    state.handle("yes", 10)
    assert state.values["email"] == "maria.g@example.com"
    assert len(state.history["email"]) == 2


def test_confirmation_no_reasks(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com")
    reply = state.handle("No.", 4)
    assert "email" in reply.text.lower() and "email" not in state.values
    reply = state.handle("marie at example dot com", 5)
    assert "m-a-r-i-e at example dot com" in reply.text


def test_confirmation_no_with_value_reads_back_again(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com")
    reply = state.handle("no, it's mariana at example dot com", 4)
    assert "m-a-r-i-a-n-a at example dot com. Is that right?" in reply.text
    state.handle("yes", 5)
    assert state.values["email"] == "mariana@example.com"


def test_unclear_answer_reasked_with_hint_then_flagged(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes")
    first = state.handle("something something", 3)
    assert DEFINITION.field("email").hint in first.text
    assert DEFINITION.field("email").questions[1] in first.text
    talk(state, "blah")
    last = state.handle("more noise", 5)
    assert "email" in state.flagged and "email" not in state.values
    assert DEFINITION.field("company").question in last.text
    assert "email" in state.missing_required()


def test_optional_field_skipped_after_attempts(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes", "Acme", "CTO", "ten",
         "Faster onboarding for clients")
    for _ in range(DEFINITION.max_attempts + 1):
        reply = state.handle("hmm purple", 20)
    assert "phone" in state.skipped and "phone" not in state.flagged
    assert DEFINITION.field("timezone").questions[0] in reply.text


def test_repeat_repeats_the_question(state: InterviewState) -> None:
    reply = state.handle("Can you repeat that?", 1)
    assert reply.text == DEFINITION.fields[0].question
    talk(state, "Maria Garcia")
    assert state.handle("sorry?", 3).text == "I heard Maria Garcia. Is that right?"


def test_dont_know_skips_optional_and_flags_required_after_one_reask(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes", "Acme", "CTO")
    first = state.handle("I don't know", 8)
    assert "team_size" not in state.flagged and DEFINITION.field("team_size").hint in first.text
    state.handle("no idea", 9)
    assert "team_size" in state.flagged
    talk(state, "To hire faster")
    reply = state.handle("skip", 11)
    assert "phone" in state.skipped
    assert DEFINITION.field("timezone").question in reply.text


def test_caller_stops_early(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes")
    ask = state.handle("Sorry, I have to go.", 3)
    assert not ask.done and "end the call" in ask.text and "email" in ask.text
    reply = state.handle("Yes.", 4)
    assert reply.done and reply.ended_by_caller and state.finished
    assert DEFINITION.goodbye in reply.text
    assert state.missing_required() == ["email", "company", "role", "team_size", "primary_goal"]
    assert state.handle("hello?", 5).done


def test_a_stray_bye_does_not_end_the_call(state: InterviewState) -> None:
    """Whisper can hear 'Bye.' in a clipped word: the agent asks before hanging up."""
    state.opening()
    ask = state.handle("Bye.", 1)
    assert not ask.done and "end the call" in ask.text
    reply = state.handle("My name is John Smith.", 2)
    assert not reply.done and "John Smith" in reply.text
    talk(state, "yes")
    assert state.values["full_name"] == "John Smith"


def test_no_to_the_stop_question_carries_on(state: InterviewState) -> None:
    state.opening()
    state.handle("I have to go.", 1)
    reply = state.handle("No.", 2)
    assert not reply.done and DEFINITION.field("full_name").question in reply.text


def test_bye_after_the_required_fields_ends_at_once(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes", "Acme", "Designer", "ten",
         "Grow faster")
    reply = state.handle("Bye.", 20)
    assert reply.done and reply.ended_by_caller and not state.missing_required()


def test_reprompt_counts_as_attempt(state: InterviewState) -> None:
    first = state.reprompt()
    assert "didn't hear" in first.text and not first.done
    for _ in range(DEFINITION.max_attempts):
        state.reprompt()
    assert "full_name" in state.flagged


def test_unconfirmed_value_kept_but_flagged_when_no_clear_yes(state: InterviewState) -> None:
    talk(state, "Maria Garcia")
    for _ in range(DEFINITION.max_attempts + 1):
        state.reprompt()
    assert state.values["full_name"] == "Maria Garcia"
    assert "full_name" in state.flagged
    assert state.history["full_name"][-1].confidence < 0.9


def test_record_validates_and_normalises() -> None:
    state = InterviewState(DEFINITION)
    update = state.record("email", "maria dot garcia at example dot com", 3)
    assert update.value == "maria.garcia@example.com" and update.source == "tool"
    assert state.values["email"] == "maria.garcia@example.com"
    with pytest.raises(ValueError, match="valid email"):
        state.record("email", "not an email", 4)
    with pytest.raises(ValueError, match="between 1 and 1000000"):
        state.record("team_size", "zero", 4)
    with pytest.raises(ValueError, match="no field"):
        state.record("shoe_size", "42", 4)
    again = state.record("email", "mariana@example.com", 5)
    assert again.previous == "maria.garcia@example.com"
    assert [u.value for u in state.history["email"]] == ["maria.garcia@example.com", "mariana@example.com"]


def test_record_fills_skip_the_question() -> None:
    state = InterviewState(DEFINITION)
    state.record("full_name", "Maria Garcia", 0)
    reply = state.opening()
    assert DEFINITION.field("email").question in reply.text


def test_yes_is_not_an_answer(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes")
    state.handle("Yes.", 5)
    assert "company" not in state.values


def test_yes_with_more_answers_accepts_and_continues(state: InterviewState) -> None:
    talk(state, "Maria Garcia.")
    reply = state.handle("Yes, and I'm a PM at Acme.", 2)
    assert [u.field for u in reply.updates] == ["full_name", "role", "company"]
    assert reply.updates[0].source == "confirmation"
    assert DEFINITION.field("email").question in reply.text


def test_moving_on_during_read_back_is_an_implicit_yes(state: InterviewState) -> None:
    talk(state, "Maria Garcia.")
    reply = state.handle("maria.garcia@example.com.", 2)
    assert state.values["full_name"] == "Maria Garcia"
    assert "m-a-r-i-a dot g-a-r-c-i-a at example dot com" in reply.text


def test_yes_thats_me_is_a_plain_yes(state: InterviewState) -> None:
    talk(state, "Maria Garcia.")
    reply = state.handle("Yes, that's me.", 2)
    assert state.values["full_name"] == "Maria Garcia"
    assert DEFINITION.field("email").question in reply.text


def test_no_thanks_declines_an_optional_question_without_touching_earlier_answers(state: InterviewState) -> None:
    talk(state, "Maria Garcia", "yes", "maria at example dot com", "yes", "Acme", "Designer", "ten",
         "Grow faster")
    reply = state.handle("No thanks.", 20)
    assert state.values["primary_goal"] == "Grow faster" and "phone" in state.skipped
    assert "time zone" in reply.text


def test_stt_prompt_follows_the_open_question(state: InterviewState) -> None:
    """Whisper is primed with the asked field's vocabulary, and with nothing while a yes/no is awaited."""
    assert state.current.name == "full_name" and state.stt_prompt is None  # no prompt set for names
    talk(state, "My name is Maria Garcia.")
    assert state.pending_confirmation == "full_name" and state.stt_prompt is None
    talk(state, "Yes.", "maria dot garcia at example dot com", "Yes.", "Acme Corp.")
    assert state.current.name == "role"
    assert state.stt_prompt == DEFINITION.field("role").stt_prompt and "CEO" in state.stt_prompt
    talk(state, "Product manager.", "About 20.", "Onboard customers faster.", "Skip.")
    assert state.current.name == "timezone" and "Pacific" in state.stt_prompt
    talk(state, "Pacific time")
    assert state.finished and state.stt_prompt is None


def test_a_phone_number_is_read_back_and_a_refused_one_is_asked_digit_by_digit(state: InterviewState) -> None:
    """Readings that agree on a wrong digit are still wrong: the number is read back, and after a no the caller
    says it one digit at a time (no spelling decoder for digits: the answer is heard as a number again)."""
    talk(state, "My name is Maria Garcia.", "Yes.", "maria at example dot com", "Yes.", "Acme.", "Product manager.",
         "Ten.", "Faster onboarding.")
    assert state.current is not None and state.current.name == "phone"
    reply = state.handle("four one five, five five five, five one three two", 200)
    assert "I heard 4 1 5, 5 5 5, 5 1 3 2. Is that right?" in reply.text
    reply = state.handle("No.", 201)
    assert "one digit at a time" in reply.text and "phone" not in state.values
    reply = state.handle("four, one, five, five, five, five, zero, one, three, two", 202)
    assert "I heard 4 1 5, 5 5 5, 0 1 3 2. Is that right?" in reply.text
    state.handle("Yes.", 203)
    assert state.values["phone"] == "+14155550132" and state.current is not None and state.current.name == "timezone"


def test_digits_not_understood_are_asked_for_one_at_a_time_again(state: InterviewState) -> None:
    """A number said digit by digit and heard a digit short is asked for digit by digit again, with the reason,
    not with the open question whose answer was misheard before."""
    talk(state, "My name is Maria Garcia.", "Yes.", "maria at example dot com", "Yes.", "Acme.", "Product manager.",
         "Ten.", "Faster onboarding.", "four one five, five five five, five one three two", "No.")
    reply = state.handle("four, one, five, five, five, zero, one, three, two", 210)
    assert "digit or more short" in reply.text and "one digit at a time" in reply.text, reply.text
    reply = state.handle("four, one, five, five, five, five, zero, one, three, two", 211)
    assert "I heard 4 1 5, 5 5 5, 0 1 3 2. Is that right?" in reply.text


def test_a_number_heard_too_short_is_asked_for_digit_by_digit(state: InterviewState) -> None:
    talk(state, "My name is Maria Garcia.", "Yes.", "maria at example dot com", "Yes.", "Acme.", "Product manager.",
         "Ten.", "Faster onboarding.")
    reply = state.handle("My cell is 312555-100", 220)
    assert "digit or more short" in reply.text and "one digit at a time" in reply.text, reply.text
    reply = state.handle("three, one, two, five, five, five, zero, one, zero, zero", 221)
    assert "I heard 3 1 2, 5 5 5, 0 1 0 0. Is that right?" in reply.text


def test_a_number_said_over_two_turns_is_put_together_and_read_back(state: InterviewState) -> None:
    """A caller who pauses inside a number longer than the end of turn ("…four one five, five five five," then
    "oh one three two" over the re-ask): the second part alone is no number, the two together are, read back.
    A number said again whole after a short one is taken alone."""
    talk(state, "My name is Maria Garcia.", "Yes.", "maria at example dot com", "Yes.", "Acme.", "Product manager.",
         "Ten.", "Faster onboarding.")
    reply = state.handle("Sure, it's four one five, five five five,", 230)
    assert "digit or more short" in reply.text, reply.text
    reply = state.handle("oh one three two.", 231)
    assert "I heard 4 1 5, 5 5 5, 0 1 3 2. Is that right?" in reply.text, reply.text
    state.handle("Yes.", 232)
    assert state.values["phone"] == "+14155550132"


def test_a_number_said_again_whole_after_a_short_one_is_taken_alone(state: InterviewState) -> None:
    talk(state, "My name is Maria Garcia.", "Yes.", "maria at example dot com", "Yes.", "Acme.", "Product manager.",
         "Ten.", "Faster onboarding.", "It's four one five, five five five, oh one three")
    reply = state.handle("four, one, five, five, five, five, zero, one, three, two", 240)
    assert "I heard 4 1 5, 5 5 5, 0 1 3 2. Is that right?" in reply.text, reply.text


def test_a_spelling_not_understood_is_asked_for_again_as_a_spelling(state: InterviewState) -> None:
    talk(state, "My name is Dmmidri Volkov.")
    reply = state.handle("No.", 2)
    assert "spell your name" in reply.text
    reply = state.handle("Hmm.", 3)
    assert "spell your name" in reply.text and state.awaiting_spelling == "full_name", reply.text
    assert state.stt_prompt == prompts.SPELLING_STT_PROMPT
    reply = state.handle("D as in Delta, M as in Mike, I, T, R, I", 4)
    assert "I heard Dmitri Volkov. Is that right?" in reply.text


def test_a_stray_word_said_to_a_name_read_back_is_no_new_name(state: InterviewState) -> None:
    """"Wow." is not taken as the caller's name: the agent asks for a yes or a no again; a word like one of the
    name's ("Chen" for "Chan") is still a correction."""
    talk(state, "This is Olivia Chan.")
    reply = state.handle("Wow.", 300)
    assert "yes or a no" in reply.text and "I heard Olivia Chan. Is that right?" in reply.text
    assert state.pending_confirmation == "full_name" and "full_name" not in state.values
    reply = state.handle("Chen.", 301)
    assert "I heard Olivia Chen. Is that right?" in reply.text
    state.handle("Yes.", 302)
    assert state.values["full_name"] == "Olivia Chen"


def test_a_no_written_now_is_a_no(state: InterviewState) -> None:
    """Whisper writes a lone "No." as "Now." (heard on a held-out call): to a read-back it is a no."""
    talk(state, "This is Olivia Chan.")
    reply = state.handle("Now.", 300)
    assert "spell your name" in reply.text and "full_name" not in state.values


def test_a_goal_only_three_of_five_readings_agree_on_is_read_back(state: InterviewState) -> None:
    """3 of Whisper's 5 readings agreeing (confidence 0.6) was right about two times in three on the held-out
    callers (docs/readback-calibration.md): the caller hears it back, and after a no the goal said again is read
    from a reading they have not refused."""
    talk(state, "My name is Maria Garcia.", "Yes.", "maria at example dot com", "Yes.", "Acme.", "Product manager.",
         "Ten.")
    heard = ["Sort our Gentiles first.", "Sort our gentiles first", "sort our Gentiles first!",
             "Sort urgent calls first.", "Sword agent calls first."]
    reply = state.handle(heard[0], 300, heard[1:])
    assert "Sort our Gentiles first" in reply.text and "Is that right?" in reply.text, reply.text
    assert "primary_goal" not in state.values
    state.handle("No.", 301)
    reply = state.handle(heard[0], 302, heard[1:])
    assert "Sort urgent calls first" in reply.text and "Is that right?" in reply.text, reply.text
    state.handle("Yes.", 303)
    assert state.values["primary_goal"] == "Sort urgent calls first"


def test_a_goal_four_of_five_readings_agree_on_is_stored_unread(state: InterviewState) -> None:
    talk(state, "My name is Maria Garcia.", "Yes.", "maria at example dot com", "Yes.", "Acme.", "Product manager.",
         "Ten.")
    heard = ["Sort urgent calls first.", "Sort urgent calls first", "sort urgent calls first!",
             "Sort Urgent calls first.", "Sword agent calls first."]
    reply = state.handle(heard[0], 300, heard[1:])
    assert "Is that right?" not in reply.text and state.values["primary_goal"] == "Sort urgent calls first"
    assert state.current is not None and state.current.name == "phone"


def test_a_value_the_caller_said_no_to_is_never_stored_unheard(state: InterviewState) -> None:
    """heldout-21 (rms): "…leave the jump" read back (3 readings of 5), refused, then said again and heard the same
    by every reading — and stored without a read-back. Heard again as refused, it is read back again, and
    when the attempts are spent the goal is left for staff."""
    talk(state, "My name is Maria Garcia.", "Yes.", "maria at example dot com", "Yes.", "Acme.", "Product manager.",
         "Ten.")
    once = ["Send quotes before we leave the jump.", "send quotes before we leave the jump", "Send quotes before we "
            "leave the jump!", "Send quotes before we leave the job.", "Send quotes before we leave the chop."]
    reply = state.handle(once[0], 300, once[1:])
    assert "leave the jump. Is that right?" in reply.text, reply.text
    state.handle("No.", 301)
    again = [*once[:3], "Send quotes, before we leave the jump.", "SEND quotes before we leave the jump"]
    reply = state.handle(again[0], 302, again[1:])
    assert "leave the jump. Is that right?" in reply.text and "primary_goal" not in state.values, reply.text
    state.handle("No.", 303)
    reply = state.handle(again[0], 304, again[1:])
    assert "leave the jump. Is that right?" in reply.text and "primary_goal" not in state.values, reply.text
    state.handle("No.", 305)
    assert "primary_goal" not in state.values and "primary_goal" in state.flagged
