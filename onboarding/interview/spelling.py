"""Spelled answers: "D M I T R I", "double l", "A as in alpha", "dot", "underscore", "dash".

A caller asked to spell says letters, letter names ("bee", "double you"), radio words ("Mike", "as in apple"),
symbols said as words and digits; Whisper writes the same thing as "D M I T R I", "D-M-I-T-R-I", "D. M. I."
or glued capitals. `decode_spelled` turns one utterance into the characters it spells, or None when the
utterance is not a spelling (too few letters), so the interview can fall back to reading it as an answer.
After "as in" / "for" / "like" the key word's initial is the letter: Whisper hears "Victor" far more reliably
than "V" (a letter is a syllable, and "B", "D", "V" and "P" sound alike), so "B as in Victor" spells "v".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from onboarding.interview.spoken import TWO_HEARD, beside_a_digit

LETTER_NAMES = {
    "ay": "a", "bee": "b", "be": "b", "see": "c", "sea": "c", "cee": "c", "dee": "d", "ee": "e", "ef": "f",
    "eff": "f", "gee": "g", "jee": "g", "aitch": "h", "haitch": "h", "eye": "i", "jay": "j", "kay": "k",
    "el": "l", "ell": "l", "elle": "l", "em": "m", "en": "n", "oh": "o", "pee": "p", "pea": "p", "cue": "q",
    "queue": "q", "ar": "r", "are": "r", "ess": "s", "es": "s", "tee": "t", "tea": "t", "you": "u", "yu": "u",
    "vee": "v", "ex": "x", "why": "y", "wye": "y", "zed": "z", "zee": "z",
}
RADIO = {
    "alpha": "a", "alfa": "a", "bravo": "b", "charlie": "c", "delta": "d", "echo": "e", "foxtrot": "f",
    "golf": "g", "hotel": "h", "india": "i", "juliet": "j", "juliett": "j", "kilo": "k", "lima": "l",
    "mike": "m", "november": "n", "oscar": "o", "papa": "p", "quebec": "q", "romeo": "r", "sierra": "s",
    "tango": "t", "uniform": "u", "victor": "v", "whiskey": "w", "whisky": "w", "xray": "x", "yankee": "y",
    "zulu": "z",
}
# Key words of the older spelling alphabets callers still use (the Able–Baker alphabet of 1943–56 and the British
# telephone names): made for spelling after "as in", never read as letters when said alone ("Mary", "King")
OTHER_ALPHABETS = {word: word[0] for word in (
    "able", "baker", "dog", "easy", "fox", "george", "how", "item", "jig", "king", "love", "nan", "oboe",
    "peter", "queen", "roger", "sugar", "tare", "uncle", "william", "yoke", "zebra",
    "alfred", "benjamin", "charles", "david", "edward", "frederick", "harry", "isaac", "jack", "london",
    "mary", "nellie", "oliver", "robert", "tommy", "yellow")}
# Every key word of each letter, in any of those alphabets (how near a heard key word is to a letter's)
_KEY_WORDS_OF: dict[str, list[str]] = {
    letter: [word for word, its in {**RADIO, **OTHER_ALPHABETS}.items() if its == letter]
    for letter in "abcdefghijklmnopqrstuvwxyz"}
# decode_spelled's other readings of one utterance, tried after its usual one
OTHER_WAYS: tuple[dict[str, bool], ...] = ({"w_is_letter": True}, {"keep_plain": True})
DIGITS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
          "seven": "7", "eight": "8", "nine": "9"}
SYMBOLS = {"dot": ".", "period": ".", "point": ".", "underscore": "_", "dash": "-", "hyphen": "-",
           "minus": "-", "at": "@", "plus": "+", "space": " ", "apostrophe": "'"}
_NOISE = {"capital", "small", "upper", "lower", "case", "uppercase", "lowercase", "letter", "then", "and",
          "the", "an", "um", "uh", "er", "comma", "sign", "that's", "thats", "is", "it's", "its", "spelled",
          "spelt", "so"}
_LEAD = re.compile(r"^(?:(?:no|nope|yes|yeah|sure|okay|ok|so|well|right|sorry|actually|it's|it is|that's|that is|"
                   r"spelled|spelt|spell(?:ed)? it|i spell it|it's spelled|letter by letter|my (?:name|email|"
                   r"surname|last name|first name)(?: is)?|that would be)[,.:!]?\s+)+", re.IGNORECASE)
_AS_IN = {"as", "for", "like"}
_MULTI = {"double": 2, "triple": 3}


@dataclass(frozen=True)
class Spelled:
    """What an utterance spells, and how many of its words were letters (a spelling has several)."""

    text: str
    letters: int
    words: int  # words kept as they were said ("example" in "M A R I A at example dot com")


def _tokens(text: str) -> list[str]:
    """Tokens with Whisper's spellings taken apart: "D-M-I" → d m i, "D. M." → d m, glued "DMITRI" kept whole."""
    text = re.sub(r"\b([A-Za-z])(?:[-.]\s?)(?=[A-Za-z]\b)", r"\1 ", text)  # "D-M-I-T", "D. M. I."
    text = text.replace("x-ray", "xray").replace("X-ray", "xray")
    # its key word written as letters or two words: "X is in X, R, A, Y", "X as in X ray"
    text = re.sub(r"\b(in|an|on|and)\s+x(?:,?\s+r,?\s+a,?\s+y|,?\s+ray)\b", r"\1 xray", text, flags=re.IGNORECASE)
    text = re.sub(r"\.{2,}|…", " ", text)  # "M is in my... okay": Whisper's pause, never a "dot" said
    # "A as in Alpha" as Whisper tiny writes it: "He has enough" ("an alpha" heard as one word)
    text = re.sub(r"\b(he\s+(?:has|as|is))\s+enough\b", r"\1 an alpha", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(in|an)\s+the\s+(?:loop|old|lou)\b", r"\1 zulu", text, flags=re.IGNORECASE)  # Zulu
    # "as in" glued to its key word: "F has infoxed ret", "T has entangled"
    text = re.sub(r"\b(as|has|is)\s+(in|en)(?=[a-z]{3,})(?!(?:dia|dian|diana|die|dies|dy)\b)", r"\1 in ", text,
                  flags=re.IGNORECASE)
    # "Tango" written as two words: "he has in tank, O, H has in hotel"
    # (only when no plain letter follows the O: "T as in tank, O, M" spells T, O, M)
    text = re.sub(r"\b(in|an)\s+tank,?\s+o\b(?=\W*$|[,.]?\s+[a-z](?:,?\s+(?:as|has|is)\b)|"
                  r"[,.]?\s+(?!(?:double|triple|dot|at|underscore|hyphen|dash|then|and|capital|lowercase|space)\b)[a-z]{2,})",
                  r"\1 tango", text, flags=re.IGNORECASE)
    # "kilo. O", "in-boy", "P-at-P-R": punctuation (a dash the caller said is a word, or Whisper's " - ")
    text = re.sub(r"(?<=\w)[.-](?=\s|$)|(?<=\w)-(?=\w)", " ", text)
    return re.findall(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d|[.@_+\-]", text)


_GLUED_AS = re.compile(r"(?!(?:has|was|it's)$)[a-z]+(?:as|'s)")  # a letter Whisper glued to "as": "Dias", "Zia's"
_GLUED_NAMES = {"alice", "ellis", "alas"}  # "L as" written as a name: "Alice in Lima"
_GLUED_AS_IN = {"allison", "ellison"}  # "L as in" written as one name: "Allison Lima"
_CONNECT = {"in", "an", "on", "and"}  # "as in", and what Whisper writes for it: "as an", "has in", "is in"
_AS_HEARD = {"has", "is", "was", "us", "it's", "its"}  # "as" of "as in", heard as a word: "O, it's an Oscar"
_IS_IN = {"isn't", "isnt", "hasn't", "hasnt"}  # "as in" heard as one word: "K isn't kilo", "P hasn't Papa"
_FILLER_BEFORE_KEY = {"the", "um", "uh", "er"}  # heard between "as in" and a key word


def _glued(tok: str) -> bool:
    """A letter and "as" heard as one word ("Dias in Delta", "Alice in Lima", "PS in Papa"): the letter is inside
    it."""
    return tok in _GLUED_NAMES or tok in _GLUED_AS_IN or (bool(_GLUED_AS.fullmatch(tok)) and tok not in _NOISE) or (
        len(tok) == 2 and tok[1] == "s" and tok[0] not in "aeiou")


def _glued_before_radio(toks: list[str], i: int) -> bool:
    """toks[i] is a word ending in "s" followed by "in" and a radio word ("ages in hotel", "Elis and Lima"): the
    letter and "as" heard as one word, its key word heard plainly."""
    tok = toks[i].lower()
    return (tok.endswith("s") and tok not in _AS_IN | _AS_HEARD | _IS_IN and len(tok) > 2
            and i + 2 < len(toks) and toks[i + 1].lower() in _CONNECT
            and toks[i + 2].lower() in RADIO)


def _key_at(toks: list[str], i: int) -> tuple[int, str, bool] | None:
    """A key word announced at toks[i] ("as in Victor", "for bravo", "like Mary", misheard "has an Oscar", "S in
    Papa"): the key word's index, the letter it gives, and whether it is a word made for spelling (a radio word or
    a letter's name); None when toks[i] starts no such phrase."""
    tok = toks[i].lower()
    nxt = toks[i + 1].lower() if i + 1 < len(toks) else ""
    if tok in _AS_IN:
        j = i + 2 if nxt in _CONNECT or (tok == "as" and nxt == "a") else i + 1
    elif tok in _IS_IN or tok in _GLUED_AS_IN:  # "K isn't kilo", "Allison Lima"
        j = i + 1
    elif (tok in _AS_HEARD and (nxt in _CONNECT or nxt == "a")) or (
            _glued(tok) and nxt in _CONNECT) or (tok == "s" and nxt in _CONNECT) or (  # "Zia's in Zulu"; "S, S, and"
            _glued_before_radio(toks, i)):  # "ages in hotel", "Asses in Sierra": "H as", "S as" heard as one word
        j = i + 2
    else:
        return None
    if j >= len(toks):
        return None
    word = toks[j].lower()
    if word == "c" and j + 1 < len(toks) and toks[j + 1].lower() == "r":
        return j + 1, "s", True  # "S as in C, R": Sierra ("see-air-ah") written as two letters
    if word in ("u", "y") and [t.lower() for t in toks[j + 1:j + 3]] in (["n", "k"], ["m", "k"]):
        return j + 2, "y", True  # "Y as in U, N, K", "Y, S, in Y, N, K": Yankee written as three letters
    if word == "k" and j + 1 < len(toks) and toks[j + 1].lower() == "o" and (
            j + 2 >= len(toks) or _key_at(toks, j + 2) is None):
        return j + 1, "k", True  # "K as in K, O": Kilo written as two letters (an O of its own has its key word)
    if len(word) == 1 and word.isalpha():  # "F as in F": the key word heard as a letter; the letter before it wins
        if j + 1 < len(toks) and toks[j + 1].lower() == "o" and (j + 2 >= len(toks) or _key_at(toks, j + 2) is None):
            return j + 1, word, False  # "K, as in G, O", "Z, as in Z, O": Kilo, Zulu as two letters, its O no letter
        return j, word, False
    if word == "zero":  # "Z as in Zulu" heard "as in zero": no caller keys a digit, and zero starts with its Z
        return j, "z", True
    if word in _FILLER_BEFORE_KEY:
        after = toks[j + 1].lower() if j + 1 < len(toks) else ""
        if after in RADIO:
            return j + 1, RADIO[after], True  # "as in the Alpha"
        if after in _ALPHA_HEARD:
            return j + 1, after[0], False  # "He has in the health": A as in Alpha
        return j, "", False  # "Z, as in the lore": the key word lost; the letter said before it is the caller's
    if len(word) < 2 or not word.isalpha() or word in SYMBOLS or word in DIGITS or word in _NOISE or (
            word in _MULTI or word in _CONNECT or word in _AS_IN):
        return None
    made_for_it = RADIO.get(word) or LETTER_NAMES.get(word) or OTHER_ALPHABETS.get(word) or _near_radio(word)
    if made_for_it is None and j + 1 < len(toks) and toks[j + 1].lower() in RADIO:
        j, made_for_it = j + 1, RADIO[toks[j + 1].lower()]  # "as in new Yankee": a word heard before the key word
    return j, made_for_it or word[0], made_for_it is not None


_KEY_WORD_PHRASE = re.compile(r"\b(?:as|is|has)\s+(?:in|an)\s+([a-z]+)", re.IGNORECASE)


def says_key_words(text: str) -> bool:
    """True when `text` spells with key words ("C as in Charlie", Whisper's "has an Oscar"): a spelling, which
    only `decode_spelled` may read, never a value said as words."""
    return any(word.lower() in RADIO for word in _KEY_WORD_PHRASE.findall(text or ""))


# Radio words as Whisper tiny writes them, further off than `_near_radio` reaches ("D as in Tanko", "B as in
# vector", "L as in Lena"): still made for spelling, so they win over a misheard letter before them. Each begins
# with its letter but "endia" (India) and "neckl" (an echo); none is a word a caller picks for another letter.
_RADIO_AS_HEARD = {
    **dict.fromkeys(("romano", "romel", "romino", "roma"), "r"),
    **dict.fromkeys(("lena", "lina", "liner", "lymer", "limer", "lyman", "lehman", "lyme", "limo", "limit"), "l"),
    **dict.fromkeys(("tanko", "tankal", "tankle", "tangle", "tengo", "tenco", "tempo", "thankful"), "t"),
    **dict.fromkeys(("vector", "vicar", "vater"), "v"),
    **dict.fromkeys(("gilgo", "guilgo", "gilco", "keylo"), "k"),
    **dict.fromkeys(("endia", "indie"), "i"),
    **dict.fromkeys(("foxtric", "foxtry", "foxtra", "foxtrith", "fokstret", "fokstrat"), "f"),
    "neckl": "e", "yanki": "y", "yanky": "y", "yankie": "y", "wispy": "w", "ouster": "o", "brothel": "b",
    "charley": "c", "charli": "c", "charo": "c",
    # Papa as Whisper tiny writes it after "P as in" (heard "He has in pop", "D as in pop", "B, as in pop")
    "pop": "p", "poppa": "p", "tank": "t", "tackle": "t", "brother": "b",
    # Zulu (heldout-35/36: "Z, as in Duluth", "Z as in dual", "D as in the loop", "Z, as in the old")
    "duluth": "z", "dual": "z",
}


# "Alpha" as Whisper tiny writes it after "He" (the letter A heard as a word): "He has in health, M has in mic"
_ALPHA_HEARD = {"health"}


def _near_radio(word: str) -> str | None:
    """The letter of the radio word `word` is one sound away from ("Tanko", "Charley", "Romio"): a key word
    misheard, still made for spelling, so it wins over the heard letter ("D as in Tanko" spells T). Only when the
    two start alike and differ in one letter (two for long words), or share their first four letters ("tangle"):
    "mic", "line" and "Romano" stay plain words."""
    if word in _RADIO_AS_HEARD:
        return _RADIO_AS_HEARD[word]
    if len(word) < 4:
        return None
    for radio, letter in RADIO.items():
        if radio[0] == word[0] and abs(len(radio) - len(word)) <= 1 and (
                edit_distance(radio, word) <= (2 if len(radio) >= 7 else 1)):
            return letter
        if word[:4] == radio[:4]:  # "E as in tangle" (tango), "as in Victory": heard longer, the same start
            return letter
    return None


def edit_distance(a: str, b: str) -> int:
    """Edits between two short words, a swap of two neighbouring letters counted as one ("gmial", "gmail")."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def _plain(toks: list[str], *, keep_words: bool = True) -> tuple[list[str], int, int, list[str]]:
    """Letters, letter names, radio words, digits and words said whole, in order: (pieces, letters, words, the
    token each piece was said as)."""
    out: list[str] = []
    said: list[str] = []
    letters = words = 0
    repeat = 1
    lows = [t.lower() for t in toks]
    for at, raw in enumerate(toks):
        tok = raw.lower()
        if tok in TWO_HEARD and beside_a_digit(lows, at, DIGITS):  # "samuel, to, zero": a spoken 2 among digits
            tok = "two"
        if tok in _MULTI:
            repeat = _MULTI[tok]
            continue
        if tok in ("you", "u") and repeat == 2:  # "double you"
            piece, repeat = "w", 1
        elif (len(tok) == 1 and tok.isalpha()) or (raw.isupper() and raw.isalpha() and len(raw) <= 12):
            piece = tok
        elif tok in RADIO:
            piece = RADIO[tok]
        elif tok in LETTER_NAMES:
            piece = LETTER_NAMES[tok]
        elif tok in DIGITS or tok.isdigit():
            piece = DIGITS.get(tok, tok)
        elif tok in _NOISE:
            continue
        else:  # a word said whole ("example", "gmail"): kept as it was
            if keep_words:
                words += 1
                out.append(tok)
                said.append(tok)
            repeat = 1
            continue
        letters += len(piece)
        out.append(piece[0] * repeat + piece[1:])
        said.append(tok)
        repeat = 1
    return out, letters, words, said


_HEARD_AS_WORD = {"he": "e"}  # "E" before "as in" written as a word: "He has an echo", "He is a nickel"


# Letters whose names differ in one sound ("bee", "see", "dee", "zee"; "em", "en"; "ef", "ess"): a letter said alone
# is heard as another of its set far more often than a key word's first sound is misheard
_SOUND_ALIKE = ("bcdegptvz", "mn", "fs")


# How many edits nearer a key word of its own initial a key word must be than one of the letter said to decide:
# "Be as in trouble" is Bravo misheard ("trouble" is 5 edits from "Tommy", 6 from "Bravo"), "Be as in Potter" is P
_CLEARLY_NEARER = 2


def _key_word_decides(said: str, key_word: str) -> bool:
    """Whether a key word that is no spelling word gives the letter rather than the letter said before it: when
    the two letters sound alike ("C, as in Zebedee", "Be as in Potter": the letter was misheard) and the key word
    is clearly nearer a key word of its own initial (any spelling alphabet's) than one of the letter said ("B as in
    Provo" and "Be as in trouble" are Bravo misheard: B stands). A letter of another set stands ("K as in
    giggle")."""
    word = key_word.lower()
    initial = word[0]
    if len(word) < 3 or initial == said or not any(said in s and initial in s for s in _SOUND_ALIKE):
        return False
    return _nearest_key_word(word, initial) + _CLEARLY_NEARER <= _nearest_key_word(word, said)


def _nearest_key_word(word: str, letter: str) -> int:
    """Edits from `word` to the nearest key word of `letter` in any spelling alphabet."""
    return min(edit_distance(word, key) for key in _KEY_WORDS_OF[letter])


def _said_letter(tok: str) -> str | None:
    """The letter a token said before a key word stands for: the letter itself, its name ("el") or a word Whisper
    writes for it ("he")."""
    low = tok.lower()
    if len(low) == 1 and low.isalpha():
        return low
    return LETTER_NAMES.get(low) or _HEARD_AS_WORD.get(low)


def _letter_of(tok: str) -> str | None:
    """The letter one spoken token stands for ("C", "see", "Charlie"), or None."""
    low = tok.lower()
    if len(low) == 1 and low.isalpha():
        return low
    return LETTER_NAMES.get(low) or RADIO.get(low)


# A spelling with this many key words is said with a key word for (nearly) every letter: letters Whisper adds
# between them can be told from letters a caller said plainly (`_letters_whisper_added`)
_KEYED_SPELLING = 4
_BARE_AMONG_KEYED = 2  # …and, read first, every plain letter among them when there are this many keyed to each


def _letters_whisper_added(out: list[str], bare: dict[int, str], keyed_at: set[int], keep_plain: bool) -> set[int]:
    """Where, in a key-word spelling, a letter said without a key word is Whisper's, not the caller's: the start of
    the alphabet ("W is in whiskey. A, B, I as an India": its spelling prompt is "A, B, C, D, E"), a letter just
    before the same letter with its key word ("K, K, as in Kilo"), an "Oh," before a key word, and "N, K" after
    Y as in Yankee (the rest of "Yankee" written as letters); and, unless `keep_plain`, any plain letter among
    twice as many keyed ones (in these runs mostly Whisper's; but a caller may say some letters plainly, "D as in
    Delta, M as in Mike, I, T as in Tango", which the reading with `keep_plain` keeps)."""
    added: set[int] = set()
    runs: list[list[int]] = []
    for at in sorted(bare):
        if runs and runs[-1][-1] == at - 1:
            runs[-1].append(at)
        else:
            runs.append([at])
    for run in runs:
        letters = [out[at] for at in run]
        if letters[:2] == ["a", "b"] or (run[0] - 1 in keyed_at and out[run[0] - 1] == "y"
                                         and letters in (["n", "k"], ["u", "n", "k"])):
            added.update(run)
    for at, said in bare.items():
        if said == "oh" or (at + 1 in keyed_at and out[at + 1][:1] == out[at]):
            added.add(at)
    if not keep_plain and len(bare) * _BARE_AMONG_KEYED <= len(keyed_at):
        added.update(bare)  # every plain letter among many key words: Whisper's ("D, D as in Delta")
    return added

# Four of one letter in a row is in no name, address or company: a reading with it is a decoding loop
_LOOPED = re.compile(r"([a-z])\1{3,}")


def decode_spelled(text: str, *, min_letters: int = 2, d_is_dot: bool = False,
                   keep_plain: bool = False, w_is_letter: bool = False) -> Spelled | None:
    """The characters a spelled utterance says, lowercase ("D M I T R I" → "dmitri", "J underscore smith at
    example dot com" → "j_smith@example.com", "B as in Victor" → "v"); None when it holds fewer than
    `min_letters` spelled letters. `d_is_dot`: a D said before a keyed letter after the "@" is "dot", not
    "double" ("joinery, D, C, as in Charlie, O, as in Oscar": .co), the other reading of an address.
    `keep_plain`: letters said plainly among key words are the caller's (see `_letters_whisper_added`), the
    other reading of a spelling the caller said no to. `w_is_letter`: a W before another letter's key word is that
    letter misheard ("O as in Oscar" heard "W as in Oscar"), not "double" ("double O"): the other reading of it."""
    body = _LEAD.sub("", (text or "").strip().replace("’", "'"))
    toks = _tokens(body)
    out: list[str] = []
    letters = words = 0
    pending: list[str] = []  # tokens since the last key word or symbol
    after_key = False  # no symbol since the last key word: words now are the rest of it ("fox trot")
    keyed = 0  # letters said with a key word so far
    last_key = ""  # the key word said last, as heard
    bare: dict[int, str] = {}  # where in `out` a letter said without a key word is, and the token it was said as
    keyed_at: set[int] = set()  # where in `out` a letter said with a key word is

    def flush(keep_words: bool = True) -> None:
        nonlocal letters, words
        pieces, n_letters, n_words, said = _plain(pending, keep_words=keep_words)
        bare.update((len(out) + k, raw.lower()) for k, (piece, raw) in enumerate(zip(pieces, said, strict=True))
                    if len(piece) == 1 and piece.isalpha() and raw.lower() not in RADIO)
        out.extend(pieces)
        letters, words = letters + n_letters, words + n_words
        pending.clear()

    i = 0
    while i < len(toks):
        if (key := _key_at(toks, i)) is not None:
            j, letter, made_for_it = key
            if not letter:  # its key word lost: the letter said before it, keyed (never one Whisper added)
                lost_key_of = _said_letter(pending[-1]) if pending else None
                if lost_key_of is None:
                    i = j + 1
                    continue
                letter, made_for_it = lost_key_of, True
            heard_as = None  # the letter said before the key word, when one was
            heard: str | None = None  # the token said before it, whatever it was heard as
            dot_before = False  # "D" before it read as "dot" (`d_is_dot`)
            if pending and not _glued(toks[i].lower()) and not _glued_before_radio(toks, i):
                heard = pending.pop()  # the letter as it was heard: "B", or misheard as "and", "he", "I'm"
                heard_as = _letter_of(heard) or ("n" if heard.lower() == "in" and letter == "n" else None)
                if heard.lower() in _MULTI and letter != "w":  # "double, S, in alpha": the letter was lost, "as"
                    pending.append(heard)  # heard as "S" ("double as in whiskey" is W said by its name)
                if not made_for_it and heard.lower() == "he" and toks[j].lower() in _ALPHA_HEARD:
                    letter = "a"  # "He has in health": "A as in Alpha" as Whisper tiny writes it
                elif not made_for_it and (said := _said_letter(heard)) and not _key_word_decides(said, toks[j]):
                    letter = said  # "K as in giggle", "He is a nickel": a misheard key word that is no spelling word
                elif made_for_it and pending and _letter_of(heard) != letter and _letter_of(pending[-1]) == letter:
                    pending.pop()  # "see you as in Charlie": the letter, then a word Whisper added, is one letter
                if letter == "w" and heard.lower() in ("u", "you") and pending and pending[-1].lower() == "double":
                    pending.pop()  # "double U as in whiskey": W said by its name, not two of a letter
                if letter == "o" and heard == "0" and pending and pending[-1] == "0":
                    pending[-1] = "double"  # "double O as in Oscar" written "00 as an Oscar"
                elif letter != "w" and heard.lower() in ("w", "w" + letter) and (made_for_it or len(heard) == 2) and (
                        not w_is_letter):
                    pending.append("double")  # "double O as in Oscar" heard "W as in Oscar", "double P" as "Wp"
                elif letter == "h" and _said_letter(heard) == "h" and pending and pending[-1].lower() == "a":
                    pending.pop()  # "aitch as in hotel" written "A, H has in hotel": one letter, not two
                elif letter == "m" and heard.lower() == "am" and pending and pending[-1].lower() == "i":
                    pending.pop()  # "M as in Mike" written "I am as in Mike"
                if [t.lower().replace("’", "'") for t in pending[-2:]] in (["that's", "a"], ["it's", "a"]):
                    del pending[-2:]  # "That's a B as in Victor": an article before the letter, no A
            times = _MULTI.get(pending[-1].lower(), 1) if pending else 1  # "double L as in Lima"
            if (times == 1 and (keyed or heard_as == letter) and pending and pending[-1].lower() == "w"
                    and letter != "w"):
                # "double" written "W" ("W, and as in November", "W in as in November" as the first letters): a W
                # here would have its own key word
                times = 2
            elif (times == 1 and keyed and len(pending) == 1 and pending[0].lower() == "d" and letter != "d"
                  and heard_as == letter):
                if d_is_dot and "@" in out:
                    pending.pop()
                    dot_before = True
                else:
                    times = 2  # "double O as in Oscar" written "D, O, as in Oscar": the same, with a D
            if times > 1:
                pending.pop()
            # "…Oscar, that B is in Bravo": "at" written "that" before a letter, after letters (an address)
            at_heard = bool(pending) and pending[-1].lower() == "that" and bool(out or len(pending) > 1)
            if at_heard:
                pending.pop()
            said_again = (heard is None and not pending and times == 1 and last_key == toks[j].lower()
                          and toks[i].lower() in _AS_IN and bool(out) and out[-1] == letter)
            last_key = toks[j].lower()
            flush(keep_words=False)  # letters said before it stand; stray words ("trot" of "fox trot") go
            if at_heard:
                out.append("@")
            if dot_before:
                out.append(".")
            if said_again:  # "So, as an alpha. as an alpha, double L": one key phrase Whisper wrote twice
                after_key, i = True, j + 1
                continue
            keyed_at.add(len(out))
            out.append(letter * times)
            letters += times
            keyed += 1
            after_key, i = True, j + 1
            continue
        tok = toks[i].lower()
        i += 1
        if tok in SYMBOLS or tok in ".@_+-":
            flush(keep_words=not after_key)
            out.append(SYMBOLS.get(tok, tok))
            after_key = False
            continue
        pending.append(toks[i - 1])
    flush(keep_words=not after_key)
    if _LOOPED.search("".join(out)):  # "B, E, R, R, R, R, R, R, R": Whisper looping, not what was spelled
        return None
    if keyed >= _KEYED_SPELLING:
        added = _letters_whisper_added(out, bare, keyed_at, keep_plain)
        for at in sorted(added, reverse=True):
            out.pop(at)
        letters -= len(added)
    if letters < min_letters:
        return None
    # "Dot? Dot,": a symbol Whisper wrote twice (no address has two dots in a row)
    value = re.sub(r"\.{2,}", ".", re.sub(r"\s+", " ", "".join(out))).strip(" .")
    if _LOOPED.search(value):  # the same, made by letters each side of a dropped one
        return None
    return Spelled(value, letters, words)


# How a caller says each symbol when spelling (the words `SYMBOLS` reads back)
SAID_AS = {".": "dot", "@": "at", "_": "underscore", "-": "dash", "+": "plus", " ": "space", "'": "apostrophe"}


def _runs(value: str, doubles: bool) -> list[tuple[str, int]]:
    """(character, times) in order; with `doubles`, two or three of a letter in a row are one run."""
    runs: list[tuple[str, int]] = []
    for ch in value:
        if doubles and runs and runs[-1][0] == ch and ch.isalnum() and runs[-1][1] < 3:
            runs[-1] = (ch, runs[-1][1] + 1)
        else:
            runs.append((ch, 1))
    return runs


_TIMES = {1: "", 2: "double ", 3: "triple "}


def spell_out(value: str, *, doubles: bool = False) -> str:
    """How a caller spells a value aloud, a short pause after each letter: "dmitri" → "D, M, I, T, R, I";
    symbols as words; with `doubles` (when the agent asked for it) "double N" for "nn" (for the simulated
    callers)."""
    return ", ".join(SAID_AS.get(ch) or f"{_TIMES[n]}{ch.upper()}" for ch, n in _runs(value, doubles))


KEY_WORDS = {letter: word for word, letter in RADIO.items() if word not in ("alfa", "juliett", "whisky")}


def spell_out_with_words(value: str, key_words: dict[str, str] | None = None, *, doubles: bool = False) -> str:
    """How a caller spells with a key word per letter when asked to: "max" → "M as in Mike, A as in Alpha, X as
    in Xray"; symbols said as words, digits as they are; with `doubles`, "double N as in November" for "nn"
    (for the simulated callers)."""
    words = key_words or KEY_WORDS
    return ", ".join(f"{_TIMES[n]}{ch.upper()} as in {words[ch].capitalize()}" if ch in words
                     else SAID_AS.get(ch) or f"{_TIMES[n]}{ch}" for ch, n in _runs(value, doubles))
