"""Everything the interviewer says that is not in the interview file, in one place.

Sentences are short and plain because TTS reads them aloud: no markdown, no emoji, no lists.
"""

from __future__ import annotations

from onboarding.interview.definition import FieldSpec, InterviewDefinition
from onboarding.interview.emails import unknown_ending
from onboarding.interview.normalize import speakable
from onboarding.interview.spacing import spacing_note

ACKS = ("Thanks.", "Got it.", "Great.", "Perfect.")
NOT_CAUGHT = "Sorry, I didn't catch that."
NOT_HEARD = "Sorry, I didn't hear you."
SORRY = "Sorry about that."
YES_OR_NO = "Sorry, I just need a yes or a no."
OKAY = "Okay."
MOVE_ON = "No problem, let's move on."
NO_PROBLEM = "No problem."
NEEDED = "That's okay. We do need this one to set up your account."
SKIP = "No problem, let's skip that one."
TALKED_OVER = "Sorry, we spoke at the same time."
JUST_TO_CHECK = "Just to check."  # a yes or no came before the caller could have heard the read-back
TAKE_YOUR_TIME = "Sure, take your time. I'm here when you're ready."
STILL_HERE = "Yes, I'm here."
SMALL_TALK = "I'm well, thank you."
_SPELLABLE = ("person_name", "email", "company", "text")


def join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def confirm_question(spec: FieldSpec, value: str | int, domain: str = "") -> str:
    note = spacing_note(spec.kind, value, domain)  # "North Star, two words": what the ear cannot check
    return f"I heard {speakable(value, spec.kind, spec.region)}{f', {note}' if note else ''}. Is that right?"


def suggest_zone(spec: FieldSpec, zone: str) -> str:
    """The time zone of the caller's number, offered for a yes (ends like every read-back, which callers know)."""
    return f"Your phone number says {speakable(zone, spec.kind)}. Is that right?"


def name_from_address(spec: FieldSpec, name: str) -> str:
    """A name left for staff, offered as the caller's confirmed address writes it (ends like every read-back)."""
    return f"Your email address says your {spec.label} is {speakable(name, spec.kind, spec.region)}. Is that right?"


def reask(spec: FieldSpec, attempt: int) -> str:
    """An alternative phrasing for re-ask number `attempt`, plus the hint."""
    questions = spec.questions
    question = questions[attempt % len(questions)] if len(questions) > 1 else questions[0]
    return join(question, spec.hint or "")


def can_spell(spec: FieldSpec) -> bool:
    """Names can be spelled; numbers, zones, sentences and job titles are better said again (a title is made of
    words speech recognition knows, and "office manager" spelled with a word per letter runs 30 s)."""
    return spec.kind in _SPELLABLE


def ask_for_digits(spec: FieldSpec) -> str:
    """After a number's read-back was refused: digits said one at a time are what speech recognition gets right,
    but for the same digit said again ("one, one, one"), which Whisper tiny writes fewer times: "triple one"."""
    return (f"Could you say your {spec.label} again, one digit at a time? For the same digit two or three times "
            f"in a row, say double or triple.")


def ask_for_number_digits(spec: FieldSpec) -> str:
    """After a count that sounds like another ("fourteen", "forty") was refused: its digits one at a time."""
    return f"Could you say the {spec.label} one digit at a time? For fourteen, say one, four."


# Whisper's initial prompt while a caller spells: an example makes it write letters and key words, not a guess
SPELLING_STT_PROMPT = "Spelled letter by letter: A, B, C, D, E. M, A, R, I, A. Dot, at, underscore, dash."


def ask_to_spell(spec: FieldSpec, *, wrong_part: bool = False) -> str:
    """A word for each letter, as operators ask on a bad line: speech recognition hears "Victor" far better than
    "V" (measured on names spelled by four synthetic voices: bench.spelling, docs/spelling.md). "Double N": two
    identical "N as in November" in a row are written once by Whisper tiny ("O'Connor" spelled became "oconor").
    `wrong_part`: an address was read back and refused, so only the part it got wrong need be spelled (the part
    before the at, or the domain): a shorter spelling, which Whisper loses fewer letters of."""
    ask = f"Could you spell your {spec.label} for me, with a word for each letter, like M as in Mike?"
    if spec.kind == "email" and wrong_part:
        ask = (f"Could you spell the part of your {spec.label} I got wrong, with a word for each letter, "
               "like M as in Mike?")
    if spec.kind == "email":
        return f"{ask} Say dot, at, underscore or dash for the symbols, and double for a letter twice."
    return f"{ask} Say double for a letter twice."


def ask_for_part(part: str) -> str:
    """A value spelled in two parts (`spelled_parts`): an address's "local" part, then its "domain"; a name's
    "first" name, then its "last"."""
    return {
        "local": "Let's take it in two parts. First, could you spell the part before the at, with a word for each "
                 "letter, like M as in Mike? Say dot, underscore or dash for the symbols, and double for a letter "
                 "twice.",
        "domain": "Now spell the part after the at the same way: dot for the dots, and double for a letter twice.",
        "first": "Let's take it one word at a time. First, could you spell just your first name, with a word for "
                 "each letter, like M as in Mike? Say double for a letter twice.",
        "last": "Now spell your surname the same way, and say double for a letter twice.",
    }[part]


def typed(spec: FieldSpec, value: str | int) -> str:
    """Said when the caller typed a correction in the widget (or a client sent one)."""
    return f"Thanks, I see you typed your {spec.label}: {speakable(value, spec.kind, spec.region)}."


def invalid_reason(spec: FieldSpec, text: str) -> str | None:
    """Why an answer that sounded like a value was refused, said before the re-ask (None: just not caught)."""
    if spec.kind == "phone":
        from onboarding.interview.normalize import phone_digits, phone_problem

        heard = phone_digits(text)
        if heard and len(heard[0]) >= 5:
            return prompts_sorry(phone_problem(text, spec.region or "US"))
    if spec.kind == "email" and ("@" in text or " at " in f" {text.lower()} "):
        if ending := unknown_ending(text):
            said = "-".join(ending) if len(ending) <= 3 else ending
            return prompts_sorry(f"I heard it end in dot {said}, and no address ends that way.")
        return prompts_sorry("That doesn't look like a complete email address.")
    return None


def prompts_sorry(reason: str) -> str:
    return join("Sorry.", reason)


def ask_again_for(spec: FieldSpec) -> str:
    return join(f"Sorry, I didn't get the new {spec.label}.", f"What should your {spec.label} be?")


def changed(spec: FieldSpec, value: str | int) -> str:
    return f"Got it, I've changed your {spec.label} to {speakable(value, spec.kind, spec.region)}."


def follow_up_later(spec: FieldSpec) -> str:
    return f"No problem, someone from our team will follow up about your {spec.label}."


def confirm_stop(missing_labels: list[str]) -> str:
    return join("Do you want to end the call now?", f"I still need your {missing_labels[0]}." if missing_labels else "")


def early_goodbye(definition: InterviewDefinition) -> str:
    return join("No problem, we can stop here.", definition.goodbye)


def invalid_message(spec: FieldSpec, text: str = "") -> str:
    """Why a value (`text`, when known) was rejected, phrased for whoever supplied it (a caller or an LLM tool)."""
    kind = spec.kind
    if kind == "email":
        if ending := unknown_ending(text):
            return f"No domain ends in .{ending}: check what comes after the last dot."
        return "That doesn't look like a valid email address."
    if kind == "phone":
        return ("That doesn't look like a valid phone number for its country. Give it with the country code, "
                "like plus one four one five five five five zero one three two.")
    if kind == "integer":
        low = spec.min if spec.min is not None else "any"
        high = spec.max if spec.max is not None else "any"
        return f"The {spec.label} needs to be a whole number between {low} and {high}."
    if kind == "choice":
        return f"The {spec.label} must be one of: {', '.join(spec.choices)}."
    if kind == "timezone":
        return "I don't recognise that time zone. Try a city, like London, or an offset, like UTC plus two."
    if kind == "person_name":
        return "That doesn't look like a person's name."
    return f"That doesn't look like a valid {spec.label}."


def summary(full_name: str | None, have: list[str], flagged: list[str], goodbye: str) -> str:
    """A short wrap-up: thank by first name, list what we have (labels), mention what staff will follow up."""
    first = str(full_name).split()[0] if full_name else ""
    parts = [f"That's everything, {first}." if first else "That's everything."]
    if have:
        listed = have[0] if len(have) == 1 else ", ".join(have[:-1]) + " and " + have[-1]
        parts.append(f"I have your {listed}.")
    if flagged:
        parts.append(f"Someone will follow up about your {' and '.join(flagged)}.")
    parts.append(goodbye)
    return join(*parts)


def why_we_ask(spec: FieldSpec | None) -> str:
    """The caller asked why (or whether) a question matters: the honest reason, and whether it can be skipped."""
    if spec is None:
        return "It's for your profile, so the team can set up your account."
    reason = f"Your {spec.label.lower()} goes on your profile, so the team can set up your account."
    return join(reason, "It's needed for that." if spec.required else "You can skip it if you'd rather.")
