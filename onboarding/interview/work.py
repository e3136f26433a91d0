"""Company and role from how people describe their job: "I'm a product manager at Acme Corp".

Decisions, so the profile reads consistently:
- "I run / lead / head (up) X" becomes "Head of X"; "I manage the X team" becomes "X Manager". Whisper's
  "I ran", "I led", "I had up" and "I'll lead" for these are read the same way. "I run the business" (the whole
  place) is its "Owner", read back; a title said before it ("Founder, I run the shop") is the answer.
- "PM" is read as "Product Manager" (the more common meaning for our callers).
- Lowercase words of STT output ("acme corp", "Acme corp.", "Brightwell Quarry supplies") are capitalised; a word
  with capitals inside ("GitHub", "IBM", "eBay") is kept, minus trailing punctuation.
"""

from __future__ import annotations

import re

from onboarding.interview import timezones
from onboarding.interview.spelling import says_key_words
from onboarding.interview.spoken import join_spelled, strip_edges, strip_fillers, without_spelled_echo

ACRONYMS = {"ceo", "cto", "cfo", "coo", "cmo", "cio", "cpo", "cro", "vp", "svp", "evp", "hr", "it", "qa", "ux",
            "ui", "sre", "ml", "ai", "devops", "ibm", "bd", "gtm", "seo", "llc", "plc", "ag", "gmbh", "usa"}
EXPANSIONS = {"pm": "product manager", "swe": "software engineer", "sde": "software engineer",
              "em": "engineering manager", "eng": "engineering", "dev": "developer", "cofounder": "co-founder",
              "vp eng": "vp of engineering", "ops": "operations", "biz dev": "business development"}
SMALL_WORDS = {"of", "and", "for", "the", "in", "at", "to", "a", "an", "on"}
SUFFIX_CASE = {"inc": "Inc", "llc": "LLC", "ltd": "Ltd", "corp": "Corp", "co": "Co", "gmbh": "GmbH",
               "plc": "PLC", "ag": "AG", "sa": "SA", "bv": "BV"}
_LEAD = r"(?:yes|yeah|yep|sure|ok|okay|so|well|oh|right|alright|um|uh|basically|currently)\b[,.]?"
_KIND_OF_ORG = (r"(?:company|business|firm|agency|studio|startup|organi[sz]ation|employer|practice|shop|outfit|"
                r"non-?profit|charity)")
# What the company is, after its name, the comma heard as "and": "Kestrel Games and (an) indie studio"
_DESCRIBED = (rf"\band (?:(?:a|an|any|one)\s+(?:[\w-]+\s+){{0,2}}|(?:small|little|tiny|indie|independent|boutique)"
              rf"\s+(?:[\w-]+\s+)?){_KIND_OF_ORG}\b")
_BOUNDARY = (r"\s*(?:,|;|\.\s|\band (?:i|we|my|our|it|there)\b|\bwith\b|\bwhere\b|\bwhich\b|\bwho\b|\bbased\b"
             # "we're a …" / "we're builders" heard "were a …" / "were builders": what the company is, after its name
             r"|\bwere (?:a|an|\w+(?:ers|ists|ians))\b"
             rf"|\bin (?:the |[A-Z]\w+)|\bwe\b|\bi\b|\bteam of\b|\bsince\b|\bfor (?:about|around|\d)|{_DESCRIBED}"
             # "Feldman Legal Services is the name", "… is what we're called"
             r"|\bis (?:the|our|its|my|what)\b|$)")
_PRONOUN_LED = re.compile(r"^(?:i|i'm|im|we|we're|it's|my|our|you|they|he|she|work|working|just)\b",
                          re.IGNORECASE)
_NO_VALUE = re.compile(r"^(?:i don'?t know|not sure|no idea|none|nothing|n/?a|no|nope|skip|pass|dunno)$",
                       re.IGNORECASE)
_SELF = re.compile(r"\b(?:self[- ]employed|freelanc\w*|i work for myself|independent contractor|"
                   r"my own business(?![,:]?\s+\w))\b", re.IGNORECASE)
_RUN = re.compile(r"\b(?:(?:i|i'll|we)\s+(?:run|ran|lead|led|head(?: up)?|had up|oversee)|"
                  r"(?:i'm|i am|im)\s+(?:in charge of|responsible for))\s+(?:the\s+|our\s+)?"
                  r"(?P<x>[\w &/-]+?)(?:\s+(?:team|department|group|org|organi[sz]ation|function))?"
                  r"(?=\s+(?:over\s+)?(?:at|for|with|in)\b|[,.;]|$)", re.IGNORECASE)
_MANAGE = re.compile(r"\bi\s+manage[sd]?\s+(?:the\s+|our\s+|a\s+)?(?P<x>[\w &/-]+?)(?:\s+team)?(?=\s+(?:over\s+)?"
                     r"(?:at|for|with)\b|[,.;]|$)", re.IGNORECASE)
_ROLE_INTRO = re.compile(r"(?:\b(?:i'm working as|i work as|working as|i'm currently|i work in|i'm in|i am in|i'm|"
                         r"i am|im|my (?:job )?(?:role|title|position|job)(?: title)? is|my (?:role|title)'s|as|"
                         r"^it's|^it is)\s+|^)"
                         r"(?:a |an |the )?"
                         r"(?P<x>.+?)(?=\s+(?:over\s+)?(?:at|for|with|on the|from|since)\b|[,;]|\.\s|$|"
                         r"\s+(?:is|that's) (?:my|the) (?:job |official )?(?:title|role|position|job)\b)",
                         re.IGNORECASE)
# A short "I'm" is often heard as "in": "in the CTO", "in a product manager at Acme", "in UX designer".
_JOB_NOUN = (r"(?:manager|engineer|designer|developer|director|analyst|consultant|officer|founder|lead|architect|"
             r"scientist|specialist|coordinator|administrator|assistant|accountant|recruiter|writer|editor)s?")
_IM_HEARD = re.compile(rf"^(?:in\s+(?=(?:a|an|the)\s|(?:[\w-]+\s+){{0,3}}{_JOB_NOUN}\b)|pm,\s+(?=(?:a|an)\s))",
                       re.IGNORECASE)  # and "PM, a …": primed with "PM", Whisper wrote "I'm a" so
# What no job title looks like: a small word first ("And of a Manager"), two in a row, or a clause ("Company Is
# Called Bluebird Media"): a mishearing, read back before it is kept.
_ODD_ROLE = re.compile(rf"^(?:{'|'.join(sorted(SMALL_WORDS))})\b|\b(?:{'|'.join(sorted(SMALL_WORDS))})\s+"
                       rf"(?:{'|'.join(sorted(SMALL_WORDS))})\b|\b(?:is|its|it's|called|named|company|who|that|which)\b|"
                       r"^(?:your|my|our|their|his|her|now|no|yes)\b",
                       re.IGNORECASE)
ODD_ROLE_CONFIDENCE = 0.5
# A title said first, then what it means ("Owner, I run the place.", "Founder. I run the whole shop."): the title.
_TITLE_FIRST = re.compile(rf"^(?P<x>(?:[\w-]+\s+){{0,3}}(?:{_JOB_NOUN}|owner|partner|president|principal|"
                          rf"proprietor|c[eotfmip]o))\s*[,.;]\s+(?=(?:i|i'm|we|we're)\b)", re.IGNORECASE)
# "I run the business": what is run is the whole place, not a department of it; its owner, read back (a guess).
_WHOLE_PLACE = re.compile(r"^(?:whole\s+|entire\s+)?(?:place|shop|business|company|firm|store|practice|show|"
                          r"operation|thing|it|everything)$", re.IGNORECASE)
OWNER_GUESS_CONFIDENCE = 0.55
# "I own the place", "we own a bakery" (not "I own the sales pipeline")
_OWN = re.compile(r"\b(?:i|we)\s+(?:co-?)?own\s+(?:(?P<a>an?\s+)|the\s+|this\s+|our\s+|my\s+)?(?P<x>[\w ]+?)"
                  r"(?=[,.;]|$)", re.IGNORECASE)
# A name said first, then what the company does in a clause of its own ("Harbour Dental, we work with landlords"):
# an "at", "for" or "with" in that clause names its customers, not the caller's employer
_NAME_THEN_WHAT_IT_DOES = re.compile(r"^(?P<x>[^,.;]+?)\s*[,.;]\s+(?:we|we're|we are|it's|it is|they|our)\b",
                                     re.IGNORECASE)
_AT_COMPANY = re.compile(r"\b(?:over\s+at|at|for|from|with|employed by|(?:owner|co-?founder|founder|proprietor) of)\s+"
                         r"(?P<x>(?!a team\b|about\b|around\b).+)",
                         re.IGNORECASE)
# "we're a small design studio called X", "it's a startup named X", "our firm is X", "my own agency, X"
_CALLED = re.compile(rf"(?:\b(?-i:called|named)|(?:^|(?<=[.!?]\s))(?:called|named))\s+(?P<x>.+)|"
                     rf"\b{_KIND_OF_ORG}(?: name)?(?:'s| is)\s+(?:called\s+|named\s+)?"
                     r"(?P<y>(?!(?:registered|incorporated)\s+(?:as|in|under|with)\b).+)|"
                     rf"\bmy own (?:\w+ )?{_KIND_OF_ORG}\b[,:]?\s+(?P<z>(?!(?:in|at|for|with)\b).+)|"
                     # "it's a family business, Bellini's Pizzeria": what it is, then its name
                     rf"\b(?:a|an|our)\s+(?:[\w-]+\s+){{0,2}}{_KIND_OF_ORG}"
                     r"(?>(?P<place>\s+(?:(?:up|down|out|over|based)\s+)?(?:in|near|outside|from)\s+[^,.;]+"
                     r"(?:,\s*(?-i:[A-Z])[\w-]+(?=,))?))?[,:.]\s+"
                     # (after a place, a name is capitalised: "a small firm in London, mostly remote" names none)
                     r"(?P<v>(?(place)(?=(?:the\s+)?(?-i:[A-Z]))|)"
                     r"(?!(?<=[.!?]\s)(?:called|named)\b)"  # "We're a small agency. Called Redbird."
                     r"(?!(?:in|at|for|with|we|it|i|they|our|my|not|nothing|just|very|pretty|quite|mostly|mainly|"
                     r"honestly|basically|actually|really|"
                     r"there|that|(?-i:called|named)|"
                     r"so|but|and|no|yes|one|two|three|four|five|six|seven|eight|nine|ten|several|many|lots|about|"
                     r"around|over|\d)\b).+)|"
                     # "We were Ortiz Tiles, but now we're Ortiz Surfaces.": the name it has now
                     r"\bnow (?:we're|we are|it's|it is|called|named|trading as)\s+(?P<u>.+)|"
                     # "we rebranded, it's Hartley Studio now"; "I trade as Bramble Candles"
                     r"\b(?:it's|it is|we're|we are)\s+"
                     r"(?P<t>(?!(?:a|an|very|quite|really|so|pretty|not)\b)[^,.;]+?)\s+now\b|"
                     r"\btrad(?:e|es|ing) as\s+(?P<s>(?!(?:a|an)\b).+)|"
                     # a name, capitalised, not a legal form: not "registered as charity number …", "as VAT exempt"
                     r"\b(?:registered|incorporated) as\s+(?P<q>(?!(?:limited|ltd|llc|llp|plc|pty|inc|cic|gmbh|vat|"
                     r"charity|charitable|community interest|sole|self|company|partnership|of|a|an)\b)(?-i:[A-Z]).+)|"
                     # "I'm self-employed, so just Chloe Patterson Photography": the name the caller works under
                     r"\b(?:self[- ]employed|freelanc\w*)[,.;]\s*(?:so|but)\s+(?:just\s+|it's\s+)?"
                     r"(?P<r>(?-i:[A-Z])[\w'&-]*(?:\s+(?-i:[A-Z])[\w'&-]*)+)|"
                     # "The one I'm calling for is Bluegate Logistics."
                     rf"\bthe (?:one|{_KIND_OF_ORG}|place)\b[^,.;]*?\bis\s+"
                     r"(?P<w>(?!(?:a|an|the|called|in|based)\b)(?!(?:registered|incorporated)\s+(?:as|in|under|with)\b).+)",
                     re.IGNORECASE)


# (framed as a name: "is called", "a firm called"; not "named after my dad", "I called yesterday")
# What a company does, said after what it is: "…, road transport mostly", "…, residential work mainly"
_WHAT_IT_DOES_MOSTLY = re.compile(r"\b(?:mostly|mainly|largely|primarily|generally|usually|really)$", re.IGNORECASE)
_CALLED_NAME = re.compile(r"(?:\b(?:is|are|was)\s+|'s\s+|,\s*(?=(?-i:called|named))|"
                          r"\b(?:a|an|the|our|my)\s+(?:[\w-]+\s+){0,3})(?:called|named)\s+"
                          r"(?!(?:after|for|me|you|it|yesterday|earlier|before|a|an)\b)(?P<x>.+)", re.IGNORECASE)
# The caller's own business named: "I'm freelance but my studio is called Pixel Pond" is Pixel Pond (not "I contract
# for a company called Acme")
_OWN_NAMED = re.compile(rf"\b(?:my|our)\s+(?:own\s+)?(?:[\w-]+\s+)?{_KIND_OF_ORG}\s+(?:is|'s)\s+(?:called|named)\b",
                        re.IGNORECASE)


# Between a name said after a description and a later "called …": a sentence end or another thing named ("We're a
# small agency, Redbird. Our parent company is called Flock Group.")
_ANOTHER_NAMED = re.compile(r"[.!?]\s|\b(?:my|our|the|his|her|their)\b", re.IGNORECASE)


def _cut(text: str) -> str:
    """The value up to the first clause boundary ("Globex with a team of 20" -> "Globex")."""
    match = re.search(_BOUNDARY, text)
    return strip_edges(text[: match.start()] if match else text)


def _title(words: str, suffixes: bool = False) -> str:
    out = []
    for i, word in enumerate(words.split()):
        low = word.lower()
        if low in ACRONYMS:
            out.append(low.upper() if low not in SUFFIX_CASE else SUFFIX_CASE[low])
        elif suffixes and low in SUFFIX_CASE and i > 0:
            out.append(SUFFIX_CASE[low])
        elif i > 0 and low in SMALL_WORDS:
            out.append(low)
        elif (word.isupper() and len(word) > 1) or any(c.isupper() for c in word[1:]):
            out.append(word)  # keep "IBM", "GitHub" as the caller (or Whisper) gave them
        else:
            out.append("-".join(p[:1].upper() + p[1:] for p in low.split("-")))
    return " ".join(out)


# Not a company name but a spelling or an address, said where the company was asked (a caller still spelling the
# question before, or answering it again): "as an Oscar", "C as in Charlie", "H-A-N-N-A-H", "dana@fastmail.com"
_SPELLED_WITH_DASHES = re.compile(r"(?:\b[a-z]\s*-\s*){3,}", re.IGNORECASE)


def _spelling_or_address(text: str) -> bool:
    return "@" in text or _SPELLED_WITH_DASHES.search(text) is not None or says_key_words(text)


_PRONOUNS = {"it", "this", "that", "them", "us", "you"}


def _clean_company(value: str) -> str | None:
    value = strip_edges(re.sub(r"^(?:the|a|an)\s+", "", strip_edges(value), flags=re.IGNORECASE))
    # "Acme company" is Acme; "McKinsey and Company" keeps its "Company", and so does a name of several words
    # that ends in it, written so ("Quetzal Design Company", "Mill Creek Trading Company")
    value = re.sub(r"\s+(?:right now|at the moment|currently|actually)$", "", value, flags=re.IGNORECASE)
    named_company = re.search(r"^\S+\s+\S+.*\sCompany$", value) is not None
    if not named_company:
        value = re.sub(r"(?<!\band)(?<!&)\s+company$", "", value, flags=re.IGNORECASE)
    if len(value) < 2 or _NO_VALUE.match(value) or len(value.split()) > 6 or not re.search(r"[A-Za-z0-9]", value):
        return None
    if _PRONOUN_LED.match(value) or value.lower() in {"myself", "me", "home", "a company", "the moment"}:
        return None
    if value.lower() in _PRONOUNS and not value.isupper():  # "I work for it" is no company; "IT" written so may be
        return None
    # A word in lowercase ("Acme corp", "Brightwell Quarry supplies": Whisper capitalises the first word it writes
    # and some of the others) says nothing about how the company writes its name: it is capitalised, small words
    # aside. A word with capitals inside ("GitHub", "eBay", "IBM") is kept.
    return _title(value, suffixes=True)


def _prepared(text: str) -> str:
    text = strip_fillers(join_spelled(strip_edges(text)))
    return re.sub(rf"^\s*(?:{_LEAD}\s*)+", "", text, flags=re.IGNORECASE)


# How a word of the name is written, said after it: "Café Andino, with an accent on the E."
_WRITTEN_NOTE = re.compile(r",?\s+with an? (?:accent|apostrophe|hyphen|dash) (?:on|over|after|before|in) "
                           r"(?:the )?(?:first |second |last )?[a-z]\b", re.IGNORECASE)
# A word of the name spelled after the name, not beside its word: "Brennan's Bakery, B-R-E-N-N-A-N apostrophe S.",
# "Quigley Marsh, Q-U-I-G-L-E-Y Marsh."
_SPELLED_AFTER = re.compile(r",\s*(?P<s>(?:[A-Za-z]-){2,}[A-Za-z])(?:\s+apostrophe\s+s)?(?:\s+(?P<w>[A-Za-z]+))?"
                            r"\W*$", re.IGNORECASE)
# The long name, then the short one to store: "Raghunathan Analytics Private Limited, but just Raghunathan Analytics
# is fine.", "Lekki Homes Property Management, or just Lekki Homes."
_SHORT_FORM = re.compile(r"[,.]?\s+(?:but|or|so)\s+(?:just\s+)(?P<x>[^,.;]+?)"
                         r"(?:\s+(?:is fine|is okay|is ok|will do|works|is enough|for short))?(?:,?\s+(?:really|thanks|"
                         r"please|yeah))?\W*$", re.IGNORECASE)


def _without_spelled_after(text: str) -> str:
    said = _SPELLED_AFTER.search(text)
    if said is None:
        return text
    before = text[: said.start()].lower()
    words = {w.removesuffix("'s").replace("'", "") for w in re.findall(r"[a-z']+", before)}
    letters = re.sub(r"[^a-z]", "", said["s"].lower())
    if letters in words and (said["w"] is None or said["w"].lower() in words):
        return text[: said.start()]
    return text


def normalize_company(text: str) -> tuple[str, float] | None:
    """ "I work at Initech" -> ("Initech", 0.85); "acme corp." -> ("Acme Corp", 0.75)."""
    if not text or not text.strip():
        return None
    # only words of the long name: not "Harbour Consult, but just Harbour would confuse people."
    if (short := _SHORT_FORM.search(text)) and set(re.findall(r"[\w'-]+", short["x"].lower())) <= set(
            re.findall(r"[\w'-]+", text[: short.start()].lower())):
        return normalize_company(short["x"])
    text = _without_spelled_after(_WRITTEN_NOTE.sub("", text))
    text = without_spelled_echo(text)  # "Thistle, T-H-I-S-T-L-E, Ventures": a word of it spelled again
    if _spelling_or_address(text):
        return None
    text = _prepared(text)
    # "called X" said anywhere names it: "An agency out in Austin, Texas, called Redbird."
    # the first said ("Our agency is Redbird, the parent company is called Flock Group."), but a name said as such
    # over what a description is followed by ("A startup based in Berlin, Series A, called Loomly.")
    called_name, described = _CALLED_NAME.search(text), _CALLED.search(text)
    called = called_name if described is None or (called_name and (
        called_name.start() < described.start() or (described["v"] and not _ANOTHER_NAMED.search(
            text, described.start("v"), called_name.start("x"))))) else described
    # "freelance, but registered as X" is X
    named = called.groupdict() if called else {}
    if _SELF.search(text) and not (named.get("s") or named.get("q") or named.get("r") or _OWN_NAMED.search(text)):
        return "Self-employed", 0.8
    if called:
        value = _clean_company(_cut(next(v for k, v in named.items() if v and k != "place")))
        if not (named.get("v") and value and (timezones.names_a_place(value) or _WHAT_IT_DOES_MOSTLY.search(value))):
            # not "… in Cork, Ireland.", nor "a freight forwarding company, road transport mostly" (heldout-37)
            return (value, 0.85) if value else None
    at = _AT_COMPANY.search(text)
    described = _NAME_THEN_WHAT_IT_DOES.match(text)
    if at and not (described and at.start() >= described.end("x")):
        value = _clean_company(_cut(at.group("x")))
        if value and (again := _said_again(at.group("x"), value)):
            value = again  # "I'm at Corvid Print, well, Corvid Print and Packaging"
        return (value, 0.85) if value else None
    bare = re.sub(r"^(?:it's|it is|that's|that is|we're|we are|i'm with|i am with|the company is)\s+", "", text,
                  flags=re.IGNORECASE)
    value = _clean_company(_cut(bare))
    if value and (again := _said_again(bare, value)):
        value = again
    return (value, 0.75) if value else None


_SAID_AGAIN_LEAD = re.compile(r"^(?:(?:sorry|actually|i mean|no)[,.]?\s+)*(?:it's|it is|that's|that is)\s+",
                              re.IGNORECASE)


def _said_again(text: str, value: str) -> str | None:
    """The company said again, longer, in a later clause: "It's Feldman Legal, Feldman Legal Services.",
    "Cascade Roofing. Uh, Cascade Roofing and Gutters, actually." (a caller who starts, stops and says the whole
    name); None when no clause is such a restart."""
    for clause in re.split(r"[,;]|\.\s", text)[1:]:
        clause = _SAID_AGAIN_LEAD.sub("", _prepared(clause))
        # "Mendes Tech. Sorry, it's Mendes Technologies": the last word said whole
        if clause.lower().startswith(value.lower() + " ") or (
                " " in value and re.match(rf"{re.escape(value)}\w+$", clause.strip(" .!"), re.IGNORECASE)):
            longer = _clean_company(_cut(clause))
            if longer and (remark := _A_REMARK.search(longer, len(value))):
                # "Nova. It's Nova as in the star.": no more of the name; "Acme Corporation in full": what precedes
                longer = strip_edges(longer[: remark.start()])
            return longer if longer and len(longer) > len(value) else None
    return None


_A_REMARK = re.compile(r"\s+(?:(?:as|like|too|because|spelled|spelt|since|so|but|which|who|that|is|was|not|just|also|"
                       r"normally|really|anyway)\b|in full\b|on paper\b|on the \w+|full name\b|trading name\b)",
                       re.IGNORECASE)


_HEADCOUNT = re.compile(r"\b(?:\d+|a dozen|dozen|hundred|thousand|\w+ty|ten|eleven|twelve|\w+teen)\s+"
                        r"(?:people|persons?|employees|staff|folks|members)\b")


def _clean_role(value: str) -> str | None:
    value = strip_edges(re.sub(r"^(?:a|an|the|currently)\s+", "", strip_edges(value), flags=re.IGNORECASE))
    value = _IN_DEPARTMENT.sub("", _OF_THE_PLACE.sub("", value))
    value = re.sub(r"\s+(?:there|here|at the moment|right now|now|really|i guess|i suppose)$", "", value,
                   flags=re.IGNORECASE)
    one_of = re.match(r"^one of (?:the|our|its)\s+(?P<x>.+?)s$", value, flags=re.IGNORECASE)
    if one_of:  # "one of the co-founders" → the title one of them holds
        value = one_of.group("x")
    low = re.sub(r"\b([se]?vp)s\s+of\b", r"\1 of", value.lower())  # "vp of" is often heard as "VPs of"
    for short, long in EXPANSIONS.items():
        low = re.sub(rf"\b{re.escape(short)}\b", long, low)
    low = re.sub(r"(?<=\w) led$", " lead", low)  # "sales led": no title ends in a past tense; it was "lead"
    if not low or _NO_VALUE.match(low) or len(low.split()) > 7 or not re.search(r"[a-z]", low):
        return None
    if _PRONOUN_LED.match(low) or low in {"myself", "me", "here", "employed"}:
        return None
    if _HEADCOUNT.search(low):  # "about 20 people" answers another question, it is no job title
        return None
    return _title(low)


def _role_said_again(text: str, value: str) -> str | None:
    """The title said again, longer, in a later sentence: "Office manager. Well, senior office manager since
    January." (a caller who adds the rank); None when no sentence is such a restatement."""
    for sentence in re.split(r"(?<=[.!?])\s+", text)[1:]:
        again = _normalize_role(re.sub(r"^(?:well|actually|sorry|so|oh)\b[,.]?\s*", "", sentence, flags=re.IGNORECASE))
        if again and again[0].lower().endswith(value.lower()) and len(again[0]) > len(value):
            return again[0]
    return None


def normalize_role(text: str) -> tuple[str, float] | None:
    """ "I'm a product manager at Acme Corp" -> ("Product Manager", 0.85); "I run engineering" -> Head of; a title
    shaped like no title ("In and of a Manager", "Your Electrician"), a rank alone ("Lead"), or one word cut
    from an answer that went on after a comma (Whisper's "Lead, physio, therapist.", "In the bookings,
    co-ordinator.") comes with a confidence low enough to be read back."""
    role = _normalize_role(text)
    if role is not None and (longer := _role_said_again(text, role[0])):
        role = longer, role[1]
    if role is not None and (_ODD_ROLE.search(role[0]) or role[0].lower() in _RANKS
                             or (" " not in role[0] and _WENT_ON.search(text))):
        return role[0], min(role[1], ODD_ROLE_CONFIDENCE)
    return role


_RANKS = {"lead", "head", "senior", "junior", "chief", "deputy", "principal", "acting", "interim"}
_WENT_ON = re.compile(r",\s*(?!(?:i|i'm|we|we're)\b)[\w-]+", re.IGNORECASE)  # not "Owner, I run the place."


# What a title means, said after it: "I'm the clinic director, which basically means I run the place" (the title)
# ("…, so I run the kitchen"; not "…, so I'm the bookkeeper", which says the title)
_MEANING = re.compile(r",\s*(?:(?:which|meaning)\s+(?:basically\s+|just\s+)?(?:means|is)\b|so\s+i\b(?!'m| am\b)).*$",
                      re.IGNORECASE)
# The place a title is held in: "general manager of the hotel" is a General Manager
_OF_THE_PLACE = re.compile(rf"\s+(?:of|at) (?:the|our|this|a) (?:{_KIND_OF_ORG}|hotel|restaurant|clinic|salon|"
                           r"store|school|bakery|cafe|gym|surgery|pharmacy|garage|warehouse|factory|site|place|trust|"
                           r"foundation)$",
                           re.IGNORECASE)


# How the title is held, said before it: "officially I'm the operations manager, but …"
_HELD_HOW = re.compile(r"^(?:officially|technically|formally|on paper|strictly speaking|in theory)[,]?\s+",
                       re.IGNORECASE)
# The title alone, in a sentence after what the caller does: "I look after the IT side. IT manager."
_TITLE_SENTENCE = re.compile(rf"(?<=[.!?])\s+(?P<x>(?:[\w-]+\s+){{0,3}}(?:{_JOB_NOUN}|owner|partner|president|"
                             r"principal|proprietor|chef|c[eotfmip]o))[.!]?$", re.IGNORECASE)


# The last word of a job title ("manager", "owner", "chef", "executive")
_TITLE_WORD = (rf"(?:{_JOB_NOUN}|owner|partner|president|principal|proprietor|chef|executive|c[eotfmip]o|"
               r"foreman|supervisor|receptionist|bookkeeper|nurse|teacher|officer|agent|rep|representative|clerk)")


def ends_in_title_word(value: str) -> bool:
    """Whether the last word of `value` is a job title's ("manager", "owner", "chef")."""
    return re.search(rf"\b{_TITLE_WORD}\W*$", value, re.IGNORECASE) is not None


# What a title held is not: "so not the owner", "so also the bookkeeper", "Sarah is manager now"
_NO_CLAUSE = (r"(?!(?:not|no|also|just)\b)(?!(?:[\w-]+\s+){0,3}(?:is|are|was)\b)"
              # nor what the caller is doing: "Hiring a receptionist now", "Covering for the receptionist now"
              r"(?!(?:[\w-]+\s+){1,3}?(?:a|an|the|for|as|to)\s)")
# The title named as such, wherever it is said: "Marketing, sort of. My title is brand manager."
_MY_TITLE = re.compile(r"\bmy (?:official |actual |real |job )?(?:job title|title)(?: is|'s)\s+(?:a |an |the )?"
                       rf"(?P<x>(?:[\w-]+\s+){{0,3}}{_TITLE_WORD})\s*(?:[,.;!]|$)", re.IGNORECASE)
# A title said first, then what the caller does: "I'm the foreman, I run the workshop floor."
_TITLE_THEN_DOES = re.compile(r"^(?:i'm|i am)\s+(?:a|an|the)\s+"
                              rf"(?P<x>(?:[\w-]+\s+){{0,2}}{_TITLE_WORD})"
                              r"\s*[,.;]\s+(?:and\s+|so\s+)?i\s+(?!'m|am\b)", re.IGNORECASE)
# Where the title is held, after it: "a research coordinator in the cardiology department"
_IN_DEPARTMENT = re.compile(r"\s+in (?:the|our) (?:[\w-]+\s+){0,3}(?:department|dept|team|unit|division|ward)\b.*$",
                            re.IGNORECASE)


# The title after "so" when the caller first says why: "Well, it's just me, so owner, I guess."
# (the title ends the reply: not "I'm the bookkeeper, so the owner asked me to call.")
_SO_TITLE = re.compile(rf"[,.]\s*so\s+(?:(?:now|basically|technically)\s+)?(?:i'm\s+|i am\s+)?(?:the\s+|a\s+|an\s+)?"
                       rf"(?P<x>{_NO_CLAUSE}(?:[\w-]+\s+){{0,2}}"
                       rf"{_TITLE_WORD})(?:,?\s+(?:i guess|i suppose|i think|really|basically))?\W*$", re.IGNORECASE)
# A later title the caller holds now: "I'm the bookkeeper. Well, finance manager now, they promoted me." (or after a
# comma and a "well": "I'm the bookkeeper, well, finance manager now")
_NOW_TITLE = re.compile(r"(?:(?<=[.!?])\s+|(?<=,)\s+(?=(?:well|actually)\b))(?:(?:well|actually|but|oh)[,.]?\s+)*"
                        r"(?:i'm\s+|i am\s+)?(?:the\s+|a\s+|an\s+)?"
                        rf"(?P<x>{_NO_CLAUSE}(?:[\w-]+\s+){{0,3}}{_TITLE_WORD})\s+now\b", re.IGNORECASE)


def _normalize_role(text: str) -> tuple[str, float] | None:
    if not text or not text.strip() or _spelling_or_address(text):
        return None
    for said in (_MY_TITLE.search(text), _NOW_TITLE.search(text), _SO_TITLE.search(text)):
        if said and (value := _clean_role(said.group("x"))):
            return value, 0.85
    if (alone := _TITLE_SENTENCE.search(text)) and (value := _clean_role(alone.group("x"))):
        return value, 0.85
    text = _IM_HEARD.sub("I'm ", _MEANING.sub("", _HELD_HOW.sub("", _prepared(text))))
    if (first := _TITLE_FIRST.match(text) or _TITLE_THEN_DOES.match(text)) and (
            value := _clean_role(first.group("x"))):
        return value, 0.85
    if (own := _OWN.search(text)) and (own.group("a") or _WHOLE_PLACE.match(own.group("x").strip())):
        return "Owner", 0.8  # "I own the place": said, not guessed from "I run it"
    run = _RUN.search(text)
    if run:
        if _WHOLE_PLACE.match(run.group("x").strip()):
            return "Owner", OWNER_GUESS_CONFIDENCE
        value = _clean_role(run.group("x"))
        return (f"Head of {value}", 0.8) if value else None
    manage = _MANAGE.search(text)
    if manage:
        value = _clean_role(manage.group("x"))
        return (f"{value} Manager", 0.75) if value else None
    intro = _ROLE_INTRO.search(text)
    if intro:
        value = _clean_role(intro.group("x"))
        if value:
            return value, 0.85 if intro.start("x") > 0 else 0.75
    return None


ROLE_WORDS = {"manager", "engineer", "designer", "developer", "founder", "co-founder", "cofounder", "director",
              "head", "lead", "analyst", "consultant", "pm", "vp", "officer", "president", "owner", "executive",
              "scientist", "architect", "specialist", "coordinator", "administrator", "recruiter", "marketer",
              "accountant", "intern", "partner", "assistant", "associate", "representative", "rep", "researcher",
              "writer", "editor", "product", "engineering", "marketing", "sales", "operations", "ops", "support",
              "swe", "em", "teacher", "nurse", "doctor", "lawyer", "programmer", "strategist", "producer",
              *ACRONYMS}


def _says_role(clause: str) -> bool:
    """A clause that plainly states a job: "I run X", "I'm a Y", or "<job words> at Z"."""
    if _RUN.search(clause) or _MANAGE.search(clause):
        return True
    if re.search(r"\b(?:i'm (?:a|an|the)|i am (?:a|an|the)|i work as|working as|my (?:role|title|job))\b", clause,
                 re.IGNORECASE):
        return True
    before = re.split(r"\s+(?:over\s+)?(?:at|for)\s+", clause.strip(), maxsplit=1, flags=re.IGNORECASE)[0]
    words = [w.lower() for w in re.findall(r"[\w-]+", before)]
    return 0 < len(words) <= 4 and words[-1] in ROLE_WORDS


def split_role_company(text: str) -> tuple[tuple[str, float] | None, tuple[str, float] | None]:
    """Role and company from one phrase, only when the phrase says both ("PM at Acme", "I run X at Y")."""
    for clause in re.split(r"[,;]|\.\s", text):
        if re.search(r"\b(?:at|for)\b", clause, re.IGNORECASE) and _says_role(clause):
            role, company = normalize_role(clause), normalize_company(clause)
            if role and company and role[0].lower() != company[0].lower():
                return role, company
    return None, None
