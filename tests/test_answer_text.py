"""Where the answer is in a reply: after a question asked back, after a correction mid-answer, in a later
sentence. Each case here failed before `answer_text` (the value said first, or nothing, was stored)."""

from __future__ import annotations

import pytest

from onboarding.interview import InterviewState, load_definition
from onboarding.interview.answer_text import (
    corrected_parts,
    earlier_sentences,
    later_sentences,
    one_word_corrected,
    put_down,
    with_one_word_said,
    without_asked_back,
    without_what_it_is_not,
)
from onboarding.interview.normalize import normalize_value, normalizer_for_kind


def test_a_question_asked_back_before_the_answer_is_not_part_of_it() -> None:
    assert without_asked_back("Do you mean who I work for? That's Halverson Dental.") == "That's Halverson Dental."
    assert without_asked_back("Sorry? Which one? Bluegate.") == "Bluegate."
    assert without_asked_back("Dariusz Kowalczyk?") == "Dariusz Kowalczyk?"  # a rising answer stays one


def test_the_value_said_after_a_correction_mid_answer_is_the_callers() -> None:
    assert corrected_parts("It was twenty, no, twenty-four now.") == ("It was twenty", "twenty-four now.")
    assert corrected_parts("tom dot b, no sorry, tom dot c at outlook dot com") == ("tom dot b",
                                                                                  "tom dot c at outlook dot com")
    assert corrected_parts("Tamsin Reeve. Actually, sorry, Tamsin Reeves.") == ("Tamsin Reeve", "Tamsin Reeves.")
    assert corrected_parts("Fewer no-shows, no more double bookings") is None  # no pause after the "no"
    assert corrected_parts("No, it's Mariana") is None  # a correction's lead, not one inside an answer


def test_what_a_name_or_address_is_not_is_dropped() -> None:
    said = "It's not sarah with an h, it's sara, dot k at x dot com"
    assert without_what_it_is_not(said) == "sara, dot k at x dot com"
    assert without_what_it_is_not("Kathryn Doyle.") == "Kathryn Doyle."


def test_sentences_before_and_after_the_value() -> None:
    assert later_sentences("I booked the demo. Oskar Lindholm.") == ["Oskar Lindholm."]
    assert earlier_sentences("leo at gmail dot com. I know. Yes.") == ["leo at gmail dot com. I know.",
                                                                      "leo at gmail dot com."]


def test_each_field_takes_the_corrected_value_and_skips_a_question_back() -> None:
    fields = load_definition()
    cases = {
        "full_name": ("It's Dan, no, sorry, Daniel. Daniel Okafor.", "Daniel Okafor"),
        "team_size": ("It was twenty, no, twenty-four now.", 24),
        "role": ("Sorry, what did you ask? Oh, my job. I'm the store manager.", "Store Manager"),
        "company": ("Do you mean who I work for? That's Halverson Dental Group.", "Halverson Dental Group"),
        "email": ("tom dot b, no sorry, tom dot c at outlook dot com.", "tom.c@outlook.com"),
    }
    for field, (said, expected) in cases.items():
        heard = normalize_value(fields.field(field), said)
        assert heard is not None and heard.value == expected, (field, heard)


def test_a_phone_number_whose_end_is_said_again_is_read_back_with_that_end() -> None:
    heard = normalize_value(load_definition().field("phone"),
                            "Four one five, two six three, eight eight one nine. No, sorry, eight eight nine one.")
    fields = load_definition()
    assert heard is not None and heard.value == "+14152638891"
    assert heard.confidence < fields.read_back_threshold(fields.field("phone"))  # put together here: read back


def test_in_a_call_a_question_back_then_the_answer_stores_the_answer() -> None:
    state = InterviewState(load_definition())
    state.opening()
    asked = state.handle("Can I give my married name? It's Helena Varga.", 1)
    assert "Helena Varga" in asked.text  # read back, as every name is
    assert [u.value for u in state.handle("Yes.", 2).updates] == ["Helena Varga"]


def test_an_answer_after_a_question_back_is_taken_in_a_call_and_small_talk_is_answered_in_kind() -> None:
    state = InterviewState(load_definition())
    state.opening()
    small_talk = state.handle("Hi, how are you today?", 1)
    assert small_talk.text.startswith("I'm well, thank you.") and not small_talk.updates
    asked = state.handle("Why do you need my name? Fine, it's Oona Castellanos.", 2)
    assert "Oona Castellanos" in asked.text  # the answer after the question, read back


def test_an_offset_said_with_a_place_is_the_places_zone_when_they_agree() -> None:
    zone = load_definition().field("timezone")
    agreed = normalize_value(zone, "UTC plus nine. Tokyo.")
    disagreeing = normalize_value(zone, "GMT plus three, London")
    assert agreed is not None and agreed.value == "Asia/Tokyo" and agreed.confidence >= 0.9
    assert disagreeing is not None and disagreeing.value == "Europe/London"
    assert disagreeing.confidence < load_definition().read_back_threshold(zone)  # one of the two misheard: read back


@pytest.mark.parametrize(("before", "word", "merged"), [
    ("Anneliese Brandt", "Brand", "Anneliese Brand"),   # the word it resembles is replaced
    ("Jon Smyth", "Smith", "Jon Smith"),
    ("Sales Manager", "Director", None),                 # like no word of it: the correction stands alone
    ("Anneliese Brandt", "Anneliese Brand", None),       # more than one word: said whole
    ("Maria", "Marie", None),                            # one word before: nothing to merge into
])
def test_one_word_said_after_a_correction_replaces_the_word_it_resembles(before: str, word: str,
                                                                        merged: str | None) -> None:
    assert one_word_corrected(before, word) == merged


def test_a_place_beside_a_wider_zone_is_stored_only_when_its_clock_is_the_same() -> None:
    zone = load_definition().field("timezone")
    city = normalize_value(zone, "Central European. I'm in Vienna.")
    other_clock = normalize_value(zone, "Mountain time, Phoenix.")  # no summer time in Phoenix: the zone said
    assert city is not None and city.value == "Europe/Vienna"
    assert other_clock is not None and other_clock.value == "America/Denver"


@pytest.mark.parametrize(("said", "value"), [
    ("Hollow Tree Games. Well, Hollowtree is one word.", "Hollowtree Games"),
    ("Blue Fin Labs, Bluefin is one word.", "Bluefin Labs"),
    ("Acme. It is one word.", "Acme. It is one word."),  # no words of it make that word: as said
])
def test_a_word_said_to_be_one_word_is_written_as_one(said: str, value: str) -> None:
    assert with_one_word_said(said) == value


@pytest.mark.parametrize(("kind", "said", "value"), [
    # a remark after "Sorry," is no correction (a review of these rules stored "Noisy", "One Sec", "Bad Line")
    ("role", "Sales manager. Sorry, it's noisy here.", "Sales Manager"),
    ("company", "Brightside Dental. Sorry, one sec.", "Brightside Dental"),
    ("person_name", "Priya Shah. Sorry, bad line.", "Priya Shah"),
    ("email", "jo at globex dot com. Sorry, bad line.", "jo@globex.com"),
    # "a hundred", "a dozen", "a van" are no one person in a team listed
    ("team_size", "One hundred and twenty engineers.", 120),
    ("team_size", "A dozen, and two interns.", 12),
    ("team_size", "Ten drivers and a van.", 10),
    # "so …" and "calls me …, but it's …" only before a name
    ("person_name", "Maria Lopez, so yeah.", "Maria Lopez"),
    ("person_name", "Just call me Alex, but it's fine either way.", None),
    # one word put right is merged into a name only, and never a respacing
    ("company", "Pixel Forge, no sorry, Pixelforge.", "Pixelforge"),
    ("person_name", "Ben Carter, no sorry, Benjamin.", "Benjamin Carter"),
    # a city said beside a wider zone, or before it
    ("timezone", "Pacific, Vancouver.", "America/Vancouver"),
    ("timezone", "CET, Madrid.", "Europe/Madrid"),
])
def test_the_rules_for_corrections_and_context_leave_ordinary_replies_alone(kind: str, said: str,
                                                                            value: str | int | None) -> None:
    heard = normalizer_for_kind(kind)(said)
    assert (heard.value if heard else None) == value


def test_what_the_caller_asks_to_be_written_after_saying_more_is_the_value() -> None:
    assert put_down("Nguyen Thi Lan, but put Lan Nguyen, that's easier.") == "Lan Nguyen"
    assert put_down("Baker, owner, cleaner, all of it. Put owner.") == "owner"
    assert put_down("Say twelve.") is None  # said alone, it is the whole reply, read as it is
    assert put_down("Put simply, we need more customers.") is None
    goal = normalizer_for_kind("primary_goal")("Honestly? Say we want more leads.")
    assert goal is not None and goal.value == "Say we want more leads"  # a goal is the caller's own sentence
    # a nickname asked for when the whole name was said: the whole name is stored
    name = normalizer_for_kind("person_name")("It's Benjamin Okafor. Everyone calls me Ben, but put Benjamin.")
    assert name is not None and name.value == "Benjamin Okafor"


def test_a_lone_wait_inside_an_answer_corrects_it() -> None:
    assert corrected_parts("Eighteen, wait, nineteen with the new hire.") == ("Eighteen", "nineteen with the new hire.")
    team = normalizer_for_kind("team_size")("Eighteen, wait, nineteen with the new hire.")
    assert team is not None and team.value == 19


def test_thinking_aloud_alone_is_a_moment_asked_for_not_an_answer() -> None:
    from onboarding.interview.replies import classify_reply
    assert classify_reply("Hmm, good question.") == "wait"
    assert classify_reply("Let me think.") == "wait"
    goal = normalizer_for_kind("primary_goal")("Hmm, good question. Faster invoicing for our clients.")
    assert goal is not None and goal.value == "Faster invoicing for our clients"


# A review of the rules added after the fourth and fifth phrasings sets found these read wrongly by them (the old
# rules were right, or as wrong): each is what a careful operator stores, or None for no value.
@pytest.mark.parametrize(("kind", "said", "stored"), [
    ("role", "Operations manager. Use it however you like.", "Operations Manager"),
    ("role", "I'm a teacher. Say hello to Tom for me.", "Teacher"),
    ("role", "Practice manager. Say that again?", "Practice Manager"),
    ("role", "I'm the general manager. Say GM for short.", "General Manager"),
    ("company", "Acme Ltd. Put the Ltd in, please.", "Acme Ltd"),
    ("company", "Northwind Traders, but put it in capitals.", "Northwind Traders"),
    ("company", "Blue Fin Sushi. Use the full name.", "Blue Fin Sushi"),
    ("company", "Say Cheese Photography. Say Cheese, like the photo.", "Say Cheese Photography"),
    ("person_name", "Daniel Roberts. Put Dr if you like.", "Daniel Roberts"),
    ("person_name", "Sarah Jones. Say that back to me?", "Sarah Jones"),
    ("person_name", "Tom Barker. Write to me at the office.", "Tom Barker"),
    ("person_name", "Rebecca Hollingsworth, but put Becky.", "Becky Hollingsworth"),
    ("person_name", "Benjamin Okafor. Everyone calls me Ben, but put Ben.", "Ben Okafor"),
    ("team_size", "About twelve. Say fifteen in the summer.", 12),
    ("primary_goal", "Reduce how long people wait, really.", "Reduce how long people wait"),
    ("primary_goal", "Get more bookings, and wait, less time on the phone.",
     "Get more bookings, and wait, less time on the phone"),
    ("primary_goal", "Stop people waiting on hold. Wait, and also take bookings after hours.",
     "Stop people waiting on hold. Wait, and also take bookings after hours"),
    ("company", "Acme Logistics. Wait, do you mean the parent company?", "Acme Logistics"),
    ("role", "Operations manager. Wait, do you want my official title?", "Operations Manager"),
    ("person_name", "Maria. Like Maria Callas.", "Maria"),
    ("person_name", "Sam. My boss, Sam Porter, booked it.", "Sam"),
    ("person_name", "Tom Baker, as in the actor, yes.", "Tom Baker"),
    ("company", "Northwind Traders, so just Northwind Traders really.", "Northwind Traders"),
    ("company", "Harbour Consult, but just Harbour would confuse people.", "Harbour Consult"),
    ("company", "It's registered as a charity, Hope Street Trust.", "Hope Street Trust"),
    ("company", "Registered as a sole trader, but I trade as Moss Gardening.", "Moss Gardening"),
    ("company", "A startup based in Berlin, Series A, called Loomly.", "Loomly"),
    ("company", "An agency out in Austin, Texas, called Redbird.", "Redbird"),
    ("company", "A plumbing business in Cardiff, Wales, Price Plumbing.", "Price Plumbing"),
    ("role", "I'm the operations manager. My title is a bit of a mouthful, though.", "Operations Manager"),
    ("role", "I'm a nurse. I'm on nights now.", "Nurse"),
    ("role", "Head of HR. I'm the only one in HR now.", "Head of HR"),
    ("role", "I'm the bookkeeper. I'm also doing payroll now.", "Bookkeeper"),
    ("role", "I'm the bookkeeper, so the owner asked me to call.", "Bookkeeper"),
    ("role", "I'm a sales rep, so sales manager is my boss.", "Sales Rep"),
    ("role", "I'm a bit of everything, I run the place.", "Owner"),
    ("team_size", "Forty, the sales team of twelve is the biggest.", 40),
    ("team_size", "Thirty in total, with a team of four on nights.", 30),
    ("team_size", "Fifty staff, and my team of six.", 50),
    ("team_size", "Eight, with Sarah and me.", 8),
    ("team_size", "Five boats, two crew each, plus me in the office.", 11),
    ("primary_goal", "The weather is our biggest problem, we need to rebook people fast when it rains.",
     "The weather is our biggest problem, we need to rebook people fast when it rains"),
    ("primary_goal", "How long does it take customers to get through, that's the main thing.",
     "How long does it take customers to get through, that's the main thing"),
    ("email", "jon at johnsonplumbing dot com. That's J-O-H-N.", "john@johnsonplumbing.com"),
    ("email", "mark at marcandco dot com. That's M-A-R-C.", "marc@marcandco.com"),
    ("email", "sara at acme dot com. Oh, our website is acme dot co dot uk.", "sara@acme.com"),
    # a second review
    ("person_name", "Robert Smith. Write it down.", "Robert Smith"),
    ("person_name", "Kim Nguyen. Put surname first.", "Kim Nguyen"),
    ("person_name", "Andrew Clarke. Put Andy on the badge.", "Andrew Clarke"),
    ("person_name", "Jane Doe. Put me through to sales.", "Jane Doe"),
    ("person_name", "Hannah Rose Miller, but put Rosie.", "Rosie Miller"),
    ("person_name", "Mary Ann Jones, but put Mary Ann.", "Mary Ann Jones"),
    ("person_name", "Lee. Bruce Lee, no relation.", "Lee"),
    ("company", "Acme Corp. Put it down.", "Acme Corp"),
    ("role", "CEO. Put founder too.", "CEO"),
    ("role", "Head chef. Use head chef on everything.", "Head Chef"),
    ("team_size", "Twenty. Say twenty-five by summer.", 20),
    ("company", "Our firm is Hartley Legal, it's named after my dad.", "Hartley Legal"),
    ("company", "The company is Kestrel Health, I called yesterday.", "Kestrel Health"),
    ("company", "Self-employed, I contract for a company called Acme.", "Self-employed"),
    ("company", "I'm self-employed. I'm what's called a sole trader.", "Self-employed"),
    ("company", "I'm freelance but my studio is called Pixel Pond.", "Pixel Pond"),
    ("company", "Hope Trust, registered as charity number 1123456.", "Hope Trust"),
    ("company", "Bolt Fitness, incorporated as LLC in Delaware.", "Bolt Fitness"),
    ("company", "I'm freelance, registered as sole trader.", "Self-employed"),
    ("company", "A family business in Cork, Ireland.", "Family Business"),
    ("company", "An agency out in Austin, Texas, called Redbird.", "Redbird"),
    ("company", "Nova. It's Nova as in the star.", "Nova"),
    ("company", "Kestrel. It's Kestrel like the bird.", "Kestrel"),
    ("role", "I'm the bookkeeper. I'm also doing payroll now.", "Bookkeeper"),
    ("role", "Owner. Sarah is manager now.", "Owner"),
    ("role", "Office manager. I was the receptionist, so also a receptionist.", "Office Manager"),
    ("role", "I'm the son, I manage the shop.", "Shop Manager"),
    ("role", "Head chef. Wait, sorry, executive chef.", "Executive Chef"),
    ("role", "Operations manager. Wait, I'm also a director.", "Operations Manager"),
    ("company", "Acme Logistics. Wait, the parent or the subsidiary?", "Acme Logistics"),
    ("company", "Acme Corp. Wait, hang on, let me check.", "Acme Corp"),
    ("team_size", "Fifty units, two staff per shift.", 2),
    ("team_size", "We're open seven days, three staff each day.", 3),
    ("team_size", "Our team of ten engineers plus three in sales.", 13),
    ("team_size", "A team of eight, plus me.", 9),
    # a local part said again is no domain: it is the local part put right, at the domain said first
    ("email", "jo at gmail dot com. Sorry, it's jo dot ma.", "jo.ma@gmail.com"),
    ("email", "leigh at me dot com, Lee is L-E-E.", "lee@me.com"),
    ("email", "alley at aol dot com, Ali is A-L-I.", "ali@aol.com"),
    # a third review
    ("role", "Office manager. Wait, sorry, one second.", "Office Manager"),
    ("person_name", "Priya Shah. Hang on, sorry, I'm driving.", "Priya Shah"),
    ("email", "jo at acme dot com. Wait, sorry, bad line.", "jo@acme.com"),
    ("company", "Our company is Registered Nurses Agency.", "Registered Nurses Agency"),
    ("company", "Our agency is Redbird, the parent company is called Flock Group.", "Redbird"),
    ("company", "We're a charity, Called to Serve Ministries.", "Called to Serve Ministries"),
    ("company", "Hope Trust, registered as CIC.", "Hope Trust"),
    ("company", "Acme Ltd, a small firm in Leeds. Mostly plumbing.", "Acme Ltd"),
    ("company", "we're a charity, hope street trust", "Hope Street Trust"),
    ("company", "Acme. That's Acme Corporation in full.", "Acme Corporation"),
    ("team_size", "Eighty people across four offices, with two managers in each.", 80),
    ("team_size", "Fifteen, we have three boats, two engines each.", 15),
    ("team_size", "A team of eight or nine.", 9),
    ("person_name", "Zhang Wei, but put David.", "Zhang Wei"),
    ("person_name", "Giovanni De Luca, but put Gio.", "Gio de Luca"),
    ("person_name", "Jones. Tom Jones, like the singer.", "Jones"),
    ("person_name", "Sam. The boss, Sam Porter, booked it.", "Sam"),
    ("person_name", "Sam Porter, as in the drink, OK?", "Sam Porter"),
    ("role", "Founder. Hiring a receptionist now.", "Founder"),
    ("role", "I used to be a nurse, so now practice manager.", "Practice Manager"),
    ("email", "jon at johnsonplumbing dot com, John is J-O-H-N.", "john@johnsonplumbing.com"),
    ("email", "mary-jane at acme dot com, no hyphen", "maryjane@acme.com"),
    # a fourth review
    ("team_size", "Twelve. Wait, no, hang on, fifteen.", 15),
    ("team_size", "Twelve. Hang on, no, let me count. Fifteen.", 15),
    ("timezone", "London. Wait, no, hang on, Dublin.", "Europe/Dublin"),
    ("role", "Office manager. Wait, no, my son is the office manager, I'm the owner.", "Owner"),
    ("company", "Acme Ltd. Wait, sorry, I mean Acme Holdings.", "Acme Holdings"),
    ("email", "jo at acme dot com. Wait, sorry, I mean joe at acme dot com.", "joe@acme.com"),
    ("company", "Acme. Acme Trading Ltd.", "Acme Trading Ltd"),
    ("company", "Sparks. Sparks Sign Company.", "Sparks Sign Company"),
    ("company", "Acme. Acme Holdings in full.", "Acme Holdings"),
    ("email", "mary-jane at acme-plumbing dot com, no hyphen in the name.", "maryjane@acme-plumbing.com"),
    ("company", "We're a small agency. Called Redbird.", "Redbird"),
    ("company", "We're a small agency, Redbird. Our parent company is called Flock Group.", "Redbird"),
    ("company", "A small agency, Redbird, and the parent company is called Flock.", "Redbird"),
    ("person_name", "Anne Marie Smith, but put Annie.", "Annie Smith"),
    ("email", "tom at tomsplumbing dot com. Sorry, it's tomsplumbing dot co dot uk.", "tom@tomsplumbing.co.uk"),
    ("person_name", "My name is Bartholomew, as in the saint, Quigley.", "Bartholomew Quigley"),
    ("person_name", "Porter. Sam Porter, from Acme.", "Sam Porter"),
    ("person_name", "Sam, the owner. Sam Porter.", "Sam Porter"),
])
def test_what_a_review_found_the_new_rules_misread(kind: str, said: str, stored: object) -> None:
    value = normalizer_for_kind(kind)(said)
    assert (value.value if value else None) == stored


def test_tango_written_tank_o_is_one_letter_unless_a_plain_letter_follows() -> None:
    from onboarding.interview.spelling import decode_spelled
    spelled = decode_spelled("T as in tank, O, M")
    assert spelled is not None and spelled.text == "tom"
    for said, spelled_as in (("T as in tank, O, double L", "toll"), ("T as in tank, O, dot, M", "to.m")):
        spelled = decode_spelled(said)
        assert spelled is not None and spelled.text == spelled_as
    spelled = decode_spelled("R as in Romeo, he has in tank, O, H as in hotel")
    assert spelled is not None and spelled.text == "rth"


@pytest.mark.parametrize(("said", "expected"), [
    ("My name is Maria. Garcia.", "Maria Garcia"),  # a pause inside the name, written as a full stop
    ("My name is Maria... Garcia.", "Maria Garcia"),
    ("My name is Maria… Garcia.", "Maria Garcia"),
    ("It's Maria. Garcia, thanks.", "Maria Garcia"),
    ("Sam. Porter.", "Sam Porter"),
    ("Maria. Garcia Lopez.", "Maria Garcia Lopez"),
    # ...and what is not the rest of a name stays out of it
    ("Maria, Garcia.", "Maria"),  # a comma may be surname-first writing: not guessed
    ("It is Maria. Thanks.", "Maria"),
    ("Maria. Correct.", "Maria"),
    ("Maria. Yes.", "Maria"),
    ("Maria. Maria.", "Maria"),
    ("Maria. The Boss.", "Maria"),
    ("Maria. I work at Acme.", "Maria"),
    ("Sam. Samuel Whitfield.", "Samuel Whitfield"),
    # a review's cases: agreement, thanks, address, titles, a title or department, a nickname's prefix
    ("Maria. Yep.", "Maria"), ("Maria... Alright.", "Maria"), ("Maria. Absolutely.", "Maria"),
    ("Maria. Uh-huh.", "Maria"), ("Maria. Pardon?", "Maria"), ("Maria. Gracias.", "Maria"), ("Maria. Mate.", "Maria"),
    ("Maria. Mrs Garcia.", "Maria"), ("Maria. Surname Garcia.", "Maria"), ("Maria. Much Appreciated.", "Maria"),
    ("Maria. Owner.", "Maria"), ("Maria. Office Manager.", "Maria"), ("Maria. OK.", "Maria"),
    ("Maria. Marketing.", "Maria"), ("Elizabeth. Eliza.", "Elizabeth"),
    ("Absolutely. Maria Garcia.", "Maria Garcia"), ("Certainly. Maria Garcia.", "Maria Garcia"),
])
def test_a_surname_after_a_pause_written_as_a_sentence_joins_the_name(said: str, expected: str) -> None:
    heard = normalize_value(load_definition().field("full_name"), said)
    assert heard is not None and heard.value == expected, heard


@pytest.mark.parametrize(("said", "expected"), [
    ("alex at gmail dot com, sorry, alexander dot green at gmail dot com", "alexander.green@gmail.com"),
    ("alex at gmail dot com, sorry, alexander dot green", "alexander.green@gmail.com"),  # at the domain said
    ("alex at gmail dot com, sorry, a l e x g", "alexg@gmail.com"),
    ("alex at gmail dot com. Oh sorry, I meant alex at hotmail dot com", "alex@hotmail.com"),
    ("alex at gmail dot com, sorry.", "alex@gmail.com"),  # sorry for the pace: the address stands
    ("alex at gmail dot com. Sorry, that was fast.", "alex@gmail.com"),  # a remark is no local part
    ("Sorry, alex at gmail dot com", "alex@gmail.com"),
])
def test_an_address_said_again_after_a_sorry_is_the_callers(said: str, expected: str) -> None:
    heard = normalize_value(load_definition().field("email"), said)
    assert heard is not None and heard.value == expected, heard


@pytest.mark.parametrize(("field", "said", "expected"), [
    # a count put right with a bare "sorry"; a "sorry" that puts nothing right leaves the count
    ("team_size", "We were nine, sorry, eleven since March.", 11),
    ("team_size", "were 40 sorry 45 people in the office", 45),
    ("team_size", "Twenty, sorry about the noise.", 20),
    ("team_size", "Sorry, twelve.", 12),
    # "I'd say" before the goal itself; a "mostly" or "mainly" is the caller's
    ("primary_goal", "I'd say getting invoices paid on time.", "Getting invoices paid on time"),
    ("primary_goal", "Mostly to stop losing leads.", "Mostly to stop losing leads"),  # kept, as writers keep it
    ("primary_goal", "Mainly the phones.", "Mainly the phones"),
    # the zone the caller concludes with
    ("timezone", "Pacific. We are in Galicia, Spain, so Madrid time.", "Europe/Madrid"),
    ("timezone", "We are in Texas, so central time.", "America/Chicago"),
    ("timezone", "Pacific, so the same time as you.", "America/Los_Angeles"),
])
def test_a_correction_hedge_or_conclusion_heldout_38_showed(field: str, said: str, expected: str | int) -> None:
    heard = normalize_value(load_definition().field(field), said)
    assert heard is not None and heard.value == expected, heard


def test_a_greeting_alone_is_no_name() -> None:
    spec = load_definition().field("full_name")
    assert normalize_value(spec, "Good afternoon.") is None
    assert normalize_value(spec, "Good afternoon. I'm calling about the account.") is None
    assert normalize_value(spec, "Good morning. Anil Deshpande speaking.").value == "Anil Deshpande"
