"""Spelling a surname aloud: letters alone, or a word for each letter ("M as in Mike"), heard by the agent.

Each name is spelled by each voice in three ways (plain letters "K, O, W"; NATO key words "K as in Kilo";
everyday key words "K as in King"), synthesised, transcribed by the agent's local Whisper with the prompt the
interview primes a spelling with, and decoded by `decode_spelled` (the first reading that decodes, as
`hear_spelled` takes it). A name counts only when every letter is right.

Three name sets: `tuning` (the decoder's key-word rules were written looking at Whisper's readings of these),
`heldout` (not looked at before its first figures; three rules were then added from its misses, so it is spent) and
`heldout-2` (written after those rules, never tuned on): all are reported.

    python -m bench.spelling                      # voices piper, slt, awb, rms; writes docs/spelling.md
    python -m bench.spelling --voices slt --sets heldout
    python -m bench.spelling --against 80912f8 --sets tuning,heldout-2 --modes "NATO words"  # two decoders
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
import types

from bench.common import machine, write_section
from bench.stt_accuracy import synthesize
from harness.caller_audio import ROOM_RATE, resample
from onboarding.interview.prompts import SPELLING_STT_PROMPT
from onboarding.interview.spelling import decode_spelled, spell_out, spell_out_with_words
from onboarding.providers.whisper_stt import default_model_dir, hypotheses, load_whisper
from onboarding.settings import REPO_ROOT

DOC = REPO_ROOT / "docs" / "spelling.md"
NAMES = {
    "tuning": [
        "kowalczyk", "brennan", "okafor", "lindqvist", "haddad", "moreau", "takahashi", "novak", "fitzgerald",
        "varga", "quintero", "zeller", "pham", "abernathy", "devlin", "ostrowski", "ruiz", "bjork", "ferreira",
        "mcallister"
    ],
    "heldout": [
        "gallagher", "whitfield", "nakamura", "oyelaran", "petrovic", "sandoval", "dubois", "eriksen", "castellano",
        "jovanovic", "mbeki", "harrington", "yilmaz", "kaczmarek", "delacroix", "thornbury", "iglesias", "vukovic",
        "rasmussen", "okonkwo"
    ],
    # written after the decoder's last change, which was made looking at the misses of `heldout`
    "heldout-2": [
        "fairbanks", "lombardi", "adeyemi", "szymanski", "halvorsen", "mcgregor", "villanueva", "bellamy",
        "quigley", "zimmermann", "oduya", "brannigan", "lefebvre", "kristiansen", "papadopoulos", "ashworth",
        "mwangi", "vandenberg", "fitzpatrick", "ochoa"
    ],
}
EVERYDAY = dict(zip("abcdefghijklmnopqrstuvwxyz", [
    "apple", "boy", "cat", "dog", "edward", "frank", "george", "harry", "ida", "john", "king", "larry", "mary",
    "nancy", "ocean", "peter", "queen", "robert", "sam", "tom", "umbrella", "victor", "william", "xylophone",
    "yellow", "zebra"
], strict=True))
MODES = {
    "letters": spell_out,
    "NATO words": spell_out_with_words,
    "everyday words": lambda name: spell_out_with_words(name, EVERYDAY),
}


def readings_of(model, name: str, mode: str, voice: str, prompt: str = SPELLING_STT_PROMPT) -> list[str]:
    """Whisper's N best readings of `name` spelled in `mode` by `voice`."""
    pcm = synthesize(MODES[mode](name), voice)
    audio = resample(pcm, ROOM_RATE, 16000).astype("float32") / 32768
    return hypotheses(model, audio, 5, prompt)


def first_decoded(readings: list[str], decode=decode_spelled) -> str | None:
    """What the interview takes from a spelling: the first reading that decodes."""
    return next((d.text for r in readings if (d := decode(r)) is not None), None)


def decoder_at(revision: str):
    """`decode_spelled` as it was at a git revision (to score two decoders on the very same readings: Whisper tiny
    int8 does not give the same readings of the same audio twice, so two runs cannot compare decoders)."""
    source = subprocess.run(["git", "show", f"{revision}:onboarding/interview/spelling.py"], cwd=REPO_ROOT,
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"spelling_at_{revision}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"spelling.py@{revision}", "exec"), module.__dict__)  # our own file, from git
    return module.decode_spelled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", default="piper,slt,awb,rms")
    parser.add_argument("--sets", default="tuning,heldout,heldout-2")
    parser.add_argument("--modes", default=",".join(MODES), help="of: " + ", ".join(MODES))
    parser.add_argument("--names", type=int, default=20, help="the first N names of each set")
    parser.add_argument("--prompt", default=SPELLING_STT_PROMPT, help="Whisper's prompt (a candidate to try)")
    parser.add_argument("--no-doc", action="store_true", help="print only (a trial)")
    parser.add_argument("--against", metavar="REV", help="also decode the same readings with the decoder of git "
                        "revision REV and report both (into the doc's spelling-against section only)")
    args = parser.parse_args()
    other = decoder_at(args.against) if args.against else None
    against: dict[str, list[int]] = {}  # set → [this decoder right, REV's decoder right, spellings]
    voices, sets, modes = args.voices.split(","), args.sets.split(","), args.modes.split(",")
    names = {name_set: NAMES[name_set][:args.names] for name_set in sets}
    model = load_whisper(default_model_dir())
    started = time.monotonic()
    right: dict[tuple[str, str, str], int] = {}
    misses: list[str] = []
    for name_set in sets:
        for voice in voices:
            for mode in modes:
                ok = 0
                for name in names[name_set]:
                    readings = readings_of(model, name, mode, voice, args.prompt)
                    got = first_decoded(readings)
                    ok += got == name
                    if other is not None:
                        tally = against.setdefault(f"{name_set}, {mode}", [0, 0, 0])
                        tally[0] += got == name
                        tally[1] += first_decoded(readings, other) == name
                        tally[2] += 1
                    if got != name and name_set.startswith("heldout") and mode != "letters":
                        misses.append(f"{voice}, {mode}: {name} → {got!r}")
                right[name_set, voice, mode] = ok
                print(f"{name_set} {voice} {mode}: {ok}/{len(names[name_set])}", flush=True)
    rows = ["| set | voice | " + " | ".join(modes) + " |", "|---|---|" + "---|" * len(modes)]
    for name_set in sets:
        n = len(names[name_set])
        for voice in voices:
            cells = [f"{right[name_set, voice, m]}/{n}" for m in modes]
            rows.append(f"| {name_set} | {voice} | " + " | ".join(cells) + " |")
        totals = [sum(right[name_set, v, m] for v in voices) for m in modes]
        rows.append(f"| {name_set} | **all** | " + " | ".join(
            f"**{t}/{n * len(voices)} ({100 * t / (n * len(voices)):.0f} %)**" for t in totals) + " |")
    text = "\n".join([
        f"Measured {dt.date.today()} in {time.monotonic() - started:.0f} s on {machine()}.",
        "Names spelled right, every letter (Whisper tiny.en, beam 5, the interview's spelling prompt, "
        "`decode_spelled`):", "", *rows, "",
        "Held-out misses with key words:", "", *(f"- {m}" for m in misses or ["none"])])
    if not args.no_doc and other is None:  # a comparison run (often of some sets only) keeps the full table
        write_section(DOC, "spelling", text)
    print(text)
    if other is not None:
        lines = [f"Measured {dt.date.today()} on {machine()}: `python -m bench.spelling --against {args.against}` "
                 f"(voices {args.voices}). Names spelled right by each decoder from the same Whisper readings:", "",
                 f"| set, mode | this decoder | decoder at {args.against} |", "|---|---|---|"]
        lines += [f"| {key} | {now}/{n} | {then}/{n} |" for key, (now, then, n) in against.items()]
        if not args.no_doc:
            write_section(DOC, "spelling-against", "\n".join(lines))
        print("\n".join(lines))


if __name__ == "__main__":
    main()
