"""What kind of reply the caller gave: yes, no, a correction, "say again", "don't know" or goodbye.

The interviewer must react to these before treating the utterance as an answer, otherwise "no, it's
Mariana" would be stored as a name and "can you repeat that" as a company. Checks run on the whole
utterance (short replies) so that an answer that merely contains "no" is not read as a refusal.
"""

from __future__ import annotations

import re

from onboarding.interview.answer_text import without_asked_back
from onboarding.interview.spoken import strip_fillers

ReplyKind = str  # "yes" | "no" | "correction" | "repeat" | "dont_know" | "stop" | "wait" | "question" | "other"

_STOP = re.compile(
    r"^(?:ok(?:ay)?,? )?(?:stop|stop (?:it|this|the call|please)|please stop|quit|cancel|hang up|end (?:the )?call|"
    r"(?:bye|goodbye|bye bye|bye now)(?: for now)?|good ?bye|"
    r"(?:sorry,? )?(?:i |i've |i'll |ive )?(?:have to|need to|got to|gotta|must|have got to) "
    r"(?:go|run|leave|hang up|jump off)(?: now)?|"
    r"i'm done|i am done|i'm out|that's enough|talk (?:to you )?later|"
    r"i don't want to do this|not now)(?:,? (?:thanks|thank you|sorry|bye|goodbye|please))*$")
_REPEAT = re.compile(
    r"^(?:(?:sorry|um|uh|oh),? )*(?:sorry|pardon|pardon me|excuse me|what|huh|come again|say again|sorry what|"
    r"what was that|"
    r"(?:sorry,? )?(?:can|could|would) you (?:please )?(?:repeat|say) (?:that|the question|it)(?: again)?(?: please)?|"
    r"(?:please )?repeat(?: that| the question| it)?(?: please)?|(?:sorry,? )?say (?:that|it) again(?: please)?|"
    r"(?:sorry,? )?i didn't (?:catch|hear|get|understand) (?:that|you|the question)|"
    r"what (?:was|is) the question|what did you (?:say|ask)|one more time)$")
_DONT_KNOW = re.compile(
    r"^(?:(?:no|um|well|hmm|sorry),? )?(?:i don't know|i do not know|i dont know|don't know|dunno|no idea|not sure|"
    r"i'm not sure|i am not sure|no clue|i have no idea|skip|skip (?:it|that|this|this one|that one)|"
    r"(?:let's |can we |can you )?skip (?:it|that|this)(?: one)?|pass|next|next question|"
    r"(?:i'd|i would) rather not(?: say)?|(?:i )?prefer not to (?:say|answer)|i don't have (?:one|it|that)|"
    r"none|n/?a|not applicable|no comment|rather not say|no,? thanks?|no,? thank you|no,? i'm (?:good|fine|okay)|"
    r"(?:can|could) we (?:come back to|leave|skip) (?:that|this|it)(?: one)?(?: for (?:now|later)| later)?|"
    # no answer yet, or someone else's: "It's complicated, I'll explain later.", "My colleague would know better."
    r"(?:it's|it is) complicated(?:,? i'll (?:explain|tell you)(?: later)?)?|"
    r"(?:i'm )?not sure how to (?:describe|explain|put) it|i haven't (?:really )?thought about (?:it|that)(?: yet)?|"
    r"(?:my|our) (?:\w+ )?(?:colleague|boss|manager|partner|accountant|assistant|husband|wife) would know"
    r"(?: (?:better|that|more))?(?: than me)?)"
    r"(?:,? (?:sorry|thanks|please|skip it|to be honest|really|yet|right now))*$")
# The caller needs a moment ("Hang on, let me just pull over.", "Just a second, someone's at the door."): no answer,
# no attempt used; the agent waits. A lone "wait" stays a correction's lead ("wait, it's Mariana").
_WAIT = re.compile(
    r"^(?:(?:oh|sorry|ok(?:ay)?|um)[,.]? )*(?:(?:hang on|hold on|bear with me|one (?:second|sec|moment|minute)|"
    r"just (?:a|one) (?:second|sec|moment|minute)|"
    r"(?:(?:can|could) you )?(?:give me|gimme) (?:a|one) (?:second|sec|moment|minute)|"
    r"(?:hang|hold) on (?:a|one|just a) (?:second|sec|moment|minute)|"
    r"wait a (?:second|sec|moment|minute))[,.!]?\s*)+"
    # what keeps them, not an answer: "let me just pull over", "someone's at the door"
    r"(?:(?:let me|i'll|i need to|i have to|i'm (?:just|driving|in the car|getting|looking)|someone(?:'s| is)|"
    r"there's someone|my (?:kid|son|daughter|dog|other line))\b.*)?$|"
    # thinking aloud, nothing more yet: "Hmm, good question.", "Let me think."
    r"^(?:(?:oh|well|ok(?:ay)?|right|so)[,.]? )*(?:(?:that's |that is )?(?:a )?(?:good|great|tough|fair|big) "
    r"(?:question|one)|let me (?:think|see)(?: about (?:it|that))?)$")
# A question back instead of an answer ("Why do you need that?", "Is that important?", "Hello? Are you still
# there?"): answered, and the question asked again, no attempt used.
_QUESTION_LEAD = r"^(?:(?:um|uh|sorry|oh|hello|hi|hey|wait)[,.?!]? )*"
_WHY = re.compile(_QUESTION_LEAD + r"(?:why do you (?:need|want|ask)\b|why(?: is| does) (?:that|this|it)\b|"
                  r"what(?:'s| is| do you need) (?:that|this|it) for\b|is (?:that|this|it) (?:important|necessary|"
                  r"required|needed|mandatory)\b|do i (?:have|need) to\b|does (?:it|that|this) matter\b|"
                  # something else asked first: "Could you tell me about pricing first?"
                  r"(?:can|could|would) you (?:tell|explain to|give) me\b(?! a (?:call|ring|buzz))|"
                  r"what do you (?:mean|offer)\b|is (?:this|it|that) going to take (?:long|a while)$|"
                  r"how long (?:will|does|is) (?:this|it|that) (?:going to )?(?:take|last)$)")
_LINE_CHECK = re.compile(_QUESTION_LEAD + r"(?:(?:are you )?still there\b|can you (?:still )?hear me\b|hello\?*$)")
# Small talk instead of an answer ("Hi, how are you today?", "Lovely weather, isn't it?"): answered in kind, and the
# question asked again, no attempt used
_SMALL_TALK = re.compile(_QUESTION_LEAD + r"(?:(?:and )?how(?: are you| are things|"
                         r"(?:'s| is) (?:your day|it going|things))\b|"
                         r"(?:lovely|nice|terrible|awful|great) (?:weather|day)\b|"
                         r"the weather(?:'s| is) (?:so |really |just )?(?:terrible|awful|lovely|nice|great|horrible|"
                         r"dreadful|gorgeous|beautiful|miserable|bad|good)(?: (?:here|today|here today|out here))?$)")
_YES_WORDS = {"yes", "yeah", "yep", "yup", "ya", "yah", "correct", "right", "exactly", "sure", "absolutely",
              "affirmative", "perfect", "ok", "okay", "good", "great", "fine", "indeed", "definitely",
              "true", "spot", "on", "that's", "thats", "that", "is", "it", "it's", "sounds", "you", "got",
              "uh-huh", "uh", "huh", "mm-hmm", "mhm", "all", "looks", "totally", "bingo", "yes,", "of", "course",
              "precisely", "alright", "cool", "sir", "please", "thanks", "thank", "so", "oh", "hmm", "mm", "am",
              "me", "i", "i'm", "does", "works"}
_YES_CORE = {"yes", "yeah", "yep", "yup", "ya", "yah", "correct", "right", "exactly", "sure", "absolutely",
             "affirmative", "perfect", "ok", "okay", "indeed", "definitely", "true", "mhm", "mm-hmm",
             "uh-huh", "precisely", "bingo", "alright", "course"}
_NO_WORDS = {"no", "nope", "nah", "not", "wrong", "incorrect", "isn't", "that's", "thats", "that", "is",
             "it", "it's", "quite", "right", "correct", "actually", "sorry", "uh", "um", "oh", "all", "at",
             "no,", "definitely", "totally", "way", "exactly", "afraid"}
_NO_CORE = {"no", "nope", "nah", "not", "wrong", "incorrect", "isn't"}
_CORRECTION_LEAD = re.compile(
    r"^(?:(?:sorry about that|no|nope|nah|sorry|oops|wait|oh sorry|oh wait|oh no|actually|correction|my bad|almost|"
    r"nearly|not exactly|(?:that's|that is|it's|it is) not my \w+|"
    r"that's wrong|that's not right|that's incorrect|that is wrong|not quite|i meant|i mean|let me correct (?:that|it)|"
    r"it should be|that should be|should be|make (?:that|it)|change (?:that|it) to|scratch that)[,.!]?\s+)+")
_CHANGE_FIELD = re.compile(
    r"^(?:can you |could you |please |i want to |i'd like to |let me )?(?:change|update|correct|fix|set)\s+"
    r"(?:my|the|our)\s+(?P<field>[\w ]+?)\s+(?:to|is|should be)\s+(?P<value>.+)$")
_MY_FIELD = re.compile(r"^(?:my|our|the)\s+(?P<field>[\w ]{2,30}?)(?:'s| is| should be| was)\s+(?P<value>.+)$")
_FIELD_TALK = re.compile(r"^(?:(?:it's|it is|it was|that's|that is)\s+)?(?:not\s+[^,]+,\s*)?")


# Yes and no said in words no single-word list covers: "That's the one.", "Bang on.", "Yeah, no.", "Not really.",
# "Almost." (close is no yes), "Nearly, the last bit is wrong.", "That's not my name."
_YES_PHRASE = re.compile(r"^(?:(?:yes|yeah|yep),? )?(?:that's|that is|it's|it is) (?:the one|him|her|us|me|my \w+)$|"
                         r"^(?:bang|dead) on$|^(?:yes,? )?(?:it|that) is$|^that's (?:the one|exactly it)$")
_NO_PHRASE = re.compile(r"^(?:yeah|yes),? no$|^negative$|^not really$|"
                        r"^(?:no,? )?(?:almost|nearly|close)(?:,? but no(?:t quite)?|[,.]? .*\b(?:is|was|are|'s) "
                        r"(?:wrong|off|not right|incorrect))?$|"
                        r"^(?:no,? )?(?:that's|that is|it's|it is) not (?:my \w+|the (?:right )?\w+|it|right|correct)$")


def _plain(text: str) -> str:
    # "Uh huh." is a yes: the filler list would leave "huh", a "say again"
    text = re.sub(r"\b(?:uh[- ]huh|mm[- ]hmm|mhm)\b", "uh-huh", text.lower().replace("’", "'"))
    text = strip_fillers(text).strip()
    return re.sub(r"\s+", " ", re.sub(r"[.!?…]+$", "", text)).strip(" ,")


def classify_reply(text: str) -> ReplyKind:
    """Classify one caller utterance; "other" means "treat it as an answer". A question asked back before more is
    said is not the reply: "Why do you need my name? Fine, it's Oona Castellanos." answers."""
    if (rest := without_asked_back(text or "")) != (text or "") and re.search(r"\w", rest):
        return classify_reply(rest)
    plain = _plain(text)
    if not plain:
        return "repeat"
    if _REPEAT.match(plain):
        return "repeat"
    if _STOP.match(plain):
        return "stop"
    if _DONT_KNOW.match(plain):
        return "dont_know"
    if _WAIT.match(plain):
        return "wait"
    if _WHY.match(plain) or _LINE_CHECK.match(plain) or _SMALL_TALK.match(plain):
        return "question"
    words = re.sub(r"[,;:!]", " ", plain).split()
    if _NO_PHRASE.match(plain) and not _CHANGE_FIELD.match(plain):
        return "no"
    if _YES_PHRASE.match(plain):
        return "yes"
    if words and set(words) <= _NO_WORDS and set(words) & _NO_CORE:
        return "no"
    if words and set(words) <= _YES_WORDS and set(words) & (_YES_CORE | {"good", "great", "fine", "got", "spot"}):
        return "yes"
    if _CHANGE_FIELD.match(plain):
        return "correction"
    lead = _CORRECTION_LEAD.match(plain)
    if lead and plain[lead.end():].strip():
        return "correction"
    return "other"


def small_talk(text: str) -> bool:
    """A question back that is small talk ("How are you today?"), not why the agent asks."""
    return bool(_SMALL_TALK.match(_plain(text)))


def checks_the_line(text: str) -> bool:
    """A question back that asks whether the agent is there ("Hello? Are you still there?"), not why it asks."""
    return bool(_LINE_CHECK.match(_plain(text)))


# A lone "No." as Whisper sometimes writes it (e2e caller heldout-3 #1: "Now." to a read-back it had said no to)
_NO_HEARD = {"now", "know", "naw", "noh"}


def sounds_like_no(text: str) -> bool:
    """A reply to a yes/no question that is a "no" misheard as a word no one answers a read-back with."""
    return _plain(text).strip(" ,.") in _NO_HEARD


def strip_correction(text: str) -> str:
    """The corrected value: "actually it's Mariana" -> "Mariana"; "change my company to Initech" -> "Initech"."""
    body = strip_fillers(text.strip().replace("’", "'"))
    lead = _CORRECTION_LEAD.match(body.lower())
    if lead:
        body = body[lead.end():]
    low = body.lower()
    change = _CHANGE_FIELD.match(low)
    if change:
        return body[change.start("value"):].strip()
    talk = _FIELD_TALK.match(low)
    if talk and talk.end():
        body, low = body[talk.end():], low[talk.end():]
    mine = _MY_FIELD.match(low)
    if mine:
        return body[mine.start("value"):].strip()
    return body.strip()


def correction_field_words(text: str) -> str | None:
    """The words naming the field in "change my X to ..." or "actually my X is ...", if any."""
    body = strip_fillers(text.strip().lower().replace("’", "'"))
    lead = _CORRECTION_LEAD.match(body)
    if lead:
        body = body[lead.end():]
    for pattern in (_CHANGE_FIELD, _MY_FIELD):
        match = pattern.match(body)
        if match:
            return match.group("field").strip()
    return None
