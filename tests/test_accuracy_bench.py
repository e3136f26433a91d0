"""The end-to-end accuracy bench's parts that need no audio: the listening caller against the interview (its
text mode), and the held-out callers it is made of. The spoken run itself is `make bench`."""

from __future__ import annotations

import pytest

from bench.accuracy_bench import HELD_OUT_CALLERS, text_calls
from harness.personas import ListeningCaller, Typed, heldout_personas
from onboarding.interview import InterviewState, load_definition, prompts
from onboarding.interview.normalize import normalize_phone
from onboarding.interview.spelling import decode_spelled


def test_heldout_callers_have_every_field_and_a_matching_address() -> None:
    callers = heldout_personas(4)
    names = [spec.name for spec in load_definition().fields]
    for caller in callers:
        assert sorted(caller.answers) == sorted(names) == sorted(caller.expected)
    assert callers[0].expected["email"].startswith(callers[0].expected["full_name"].split()[0].lower())


@pytest.mark.parametrize(("corpus", "count"), [("heldout-3", 4), ("heldout-4", 2), ("heldout-5", 1), ("heldout-6", 2),
                                               ("heldout-7", 2), ("heldout-8", 2), ("heldout-9", 2),
                                               ("heldout-10", 2), ("heldout-11", 2),
                                               ("heldout-12", 2), ("heldout-13", 2),
                                               ("heldout-14", 2), ("heldout-15", 2),
                                               ("heldout-16", 2), ("heldout-17", 2), ("heldout-18", 2),
                                               ("heldout-19", 2), ("heldout-20", 2), ("heldout-21", 2),
                                               ("heldout-22", 2), ("heldout-23", 2),
                                               ("heldout-24", 2), ("heldout-25", 2),
                                               ("heldout-26", 2), ("heldout-27", 2), ("heldout-28", 2),
                                               ("heldout-29", 2), ("heldout-30", 2),
                                               ("heldout-31", 2), ("heldout-32", 2),
                                               ("heldout-33", 2), ("heldout-34", 2),
                                               ("heldout-35", 2), ("heldout-36", 2),
                                               ("heldout-37", 2), ("heldout-38", 2),
                                               ("heldout-39", 2), ("heldout-40", 2), ("heldout-41", 2),
                                               ("heldout-42", 2)])
def test_the_whole_held_out_callers_are_people_each_with_their_own_address(corpus: str, count: int) -> None:
    callers = heldout_personas(count, HELD_OUT_CALLERS[corpus])
    names = [spec.name for spec in load_definition().fields]
    for caller in callers:
        assert sorted(caller.answers) == sorted(names) == sorted(caller.expected)
        first = caller.expected["full_name"].split()[0].lower().replace("é", "e")
        assert caller.expected["email"].startswith(first[0]), caller.expected  # "tnowicki@…" is an initial
        assert normalize_phone(caller.expected["phone"]) is not None  # a number libphonenumber takes as valid
    assert len({caller.expected["email"] for caller in callers}) == count


def test_text_mode_runs_whole_calls() -> None:
    assert "2/2 completed" in text_calls(2, typing=False)


def test_the_caller_spells_with_a_word_per_letter_when_shown_how() -> None:
    caller = ListeningCaller(answers={"full_name": "I'm Maria Garsia."}, expected={"full_name": "Maria Garsia"})
    assert caller.reply(InterviewState(load_definition()).opening().text) == "I'm Maria Garsia."
    assert caller.reply("I heard Maria Garcia. Is that right?") == "No."
    assert caller.reply("Could you spell your name for me, with a word for each letter, like M as in Mike?") == (
        "G as in Golf, A as in Alpha, R as in Romeo, S as in Sierra, I as in India, A as in Alpha")


def test_the_caller_says_no_to_a_wrong_read_back_spells_and_may_type() -> None:
    caller = ListeningCaller(answers={"full_name": "My name is Maria Garsia."},
                             expected={"full_name": "Maria Garsia"}, may_type=True)
    state = InterviewState(load_definition())
    assert caller.reply(state.opening().text) == "My name is Maria Garsia."
    assert caller.reply("I heard Maria Garcia. Is that right?") == "No."
    assert caller.reply("Sorry about that. Could you spell your name for me, letter by letter?") == (
        "G, A, R, S, I, A")
    assert caller.reply("I heard Maria Garsha. Is that right?") == Typed("full_name", "Maria Garsia")
    assert caller.reply("I heard Maria Garsia. Is that right?") == "Yes."


def test_the_caller_hears_how_the_agent_says_its_value_is_written() -> None:
    """Spacing the ear cannot check is said in words ("two words", "with a hyphen"): the caller answers it."""
    caller = ListeningCaller(answers={}, expected={"company": "Northstar Consulting", "full_name": "Mohammed Al Farsi"})
    assert caller.reply("I heard North Star Consulting, North Star as two words. Is that right?") == "No, one word."
    assert caller.reply("I heard Northstar Consulting. Is that right?") == "Yes."
    assert caller.reply("I heard Mohammed Al-Farsi, with a hyphen. Is that right?") == "No, no hyphen."
    caller = ListeningCaller(answers={}, expected={"company": "Open Fields"})
    assert caller.reply("I heard Open Fields, two words. Is that right?") == "Yes."
    caller = ListeningCaller(answers={}, expected={"company": "Eze Chambers"})  # parted elsewhere: not "one word"
    assert caller.reply("I heard Ezech Ambers, two words. Is that right?") == "No."


def test_the_caller_spells_every_word_of_its_name_read_back_wrong() -> None:
    """ "Rosalindich Herbert" read back: both words are wrong, though one holds "Rosalind" (heldout-23's piper call
    spelled only the surname, and the name was read back "Rosalindich Achterberg")."""
    caller = ListeningCaller(answers={}, expected={"full_name": "Rosalind Achterberg"})
    caller.reply("First, what's your full name?")
    assert caller.reply("I heard Rosalindich Herbert. Is that right?") == "No."
    spelled = caller.reply("Sorry about that. Could you spell your name for me, letter by letter?")
    assert spelled == "R, O, S, A, L, I, N, D, space, A, C, H, T, E, R, B, E, R, G", spelled
    assert caller.reply("I heard Rosalind Achterbert. Is that right?") == "No."
    assert caller.reply("Sorry about that. Could you spell your name for me, letter by letter?") == (
        "A, C, H, T, E, R, B, E, R, G")


def test_a_title_asked_again_after_a_no_is_said_in_its_words_alone() -> None:
    caller = ListeningCaller(answers={"role": "I'm an office manager."}, expected={"role": "Office Manager"})
    assert caller.reply("Great. What's your role there?") == "I'm an office manager."
    assert caller.reply("I heard And of a Manager. Is that right?") == "No."
    assert caller.reply("Sorry about that. What's your job title? For example, product manager.") == "Office Manager."


def test_the_caller_spells_the_whole_address_when_the_domain_read_back_is_not_theirs() -> None:
    caller = ListeningCaller(answers={"email": "ethan at brooks dot dev"}, expected={"email": "ethan@brooks.dev"})
    assert caller.reply("Got it. What's the best email address to reach you?") == "ethan at brooks dot dev"
    assert caller.reply("I heard e-t-h-a-n at brooks dot gov. Is that right?") == "No."
    spelled = caller.reply("Sorry about that. Could you spell your email address for me, with a word for each "
                           "letter, like M as in Mike?")
    assert "at" in spelled.split(", ") and "D as in Delta" in spelled, spelled  # all of it, not "ethan" alone
    assert caller.reply("I heard e-t-h-a-n at brooks dot dev. Is that right?") == "Yes."


def test_asked_for_the_part_it_got_wrong_the_caller_spells_the_domain_alone_when_only_it_was_wrong() -> None:
    definition = load_definition()
    caller = ListeningCaller(answers={"email": "ethan at brooks dot dev"}, expected={"email": "ethan@brooks.dev"})
    caller.reply("Got it. What's the best email address to reach you?")
    assert caller.reply("I heard e-t-h-a-n at brooks dot gov. Is that right?") == "No."
    spelled = caller.reply(prompts.ask_to_spell(definition.field("email"), wrong_part=True))
    assert decode_spelled(spelled).text == "brooks.dev", spelled
    assert caller.reply("I heard e-t-h-a-n at brooks dot dev. Is that right?") == "Yes."
    assert caller.reply("I heard e-t-h-a-m at brooks dot gov. Is that right?") == "No."  # both wrong: all of it
    spelled = caller.reply(prompts.ask_to_spell(definition.field("email"), wrong_part=True))
    assert decode_spelled(spelled).text == "ethan@brooks.dev", spelled
    assert decode_spelled(caller.reply(prompts.ask_for_part("local"))).text == "ethan"
    assert decode_spelled(caller.reply(prompts.ask_for_part("domain"))).text == "brooks.dev"
    caller = ListeningCaller(answers={}, expected={"email": "bart@quinnsurveying.co.uk"})
    caller.reply("Got it. What's the best email address to reach you?")
    caller.reply(prompts.ask_for_part("local"))
    assert "double N as in November" in caller.reply(prompts.ask_for_part("domain"))  # as asked for the first part
    caller = ListeningCaller(answers={}, expected={"full_name": "Lucia van Almeida"})
    caller.reply("Hi, thanks for calling. First, what's your full name?")
    assert decode_spelled(caller.reply(prompts.ask_for_part("first"))).text == "lucia"
    assert decode_spelled(caller.reply(prompts.ask_for_part("last"))).text == "van almeida"


def test_the_caller_says_double_and_triple_when_the_agent_asks_and_spells_without_accents() -> None:
    """Whisper tiny writes two identical "N as in November" (or "one, one, one") fewer times: the agent asks for
    "double N" and "triple one", and the caller says them only then. An accent is not spelled, and a read-back
    that lost a letter is not the caller's name however its accents are folded."""
    definition = load_definition()
    spell_request = prompts.ask_to_spell(definition.field("email"))
    digits_request = prompts.ask_for_digits(definition.field("phone"))
    assert "double" in spell_request and "double or triple" in digits_request
    caller = ListeningCaller(answers={}, expected={"email": "ryan@oconnor.ie", "phone": "+14155551112",
                                                   "full_name": "Isabel Fernández"})
    caller.reply("Got it. What's the best email address to reach you?")
    assert caller.reply("I heard r-y-a-n at oconor dot i-e. Is that right?") == "No."
    spelled = caller.reply(spell_request)
    assert "double N as in November" in spelled and decode_spelled(spelled).text == "ryan@oconnor.ie", spelled
    caller.reply("What's a good phone number for you? You can say skip.")
    said = caller.reply(digits_request)
    assert said == "four, one, five, triple five, triple one, two"
    assert normalize_phone(said).value == "+14155551112"
    assert "triple" not in caller.reply("Could you say your phone number again, one digit at a time?")
    caller.reply("Hi, thanks for calling. First, what's your full name?")
    assert caller.reply("I heard Isabel Fernndez. Is that right?") == "No."
    assert decode_spelled(caller.reply(prompts.ask_to_spell(definition.field("full_name")))).text == "fernandez"
    assert caller.reply("I heard Isabel Fernandez. Is that right?") == "Yes."  # it sounds the same
