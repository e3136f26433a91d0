"""Which STT prompt hears an address best when the caller's name is known: the choice behind decoding an address
up to three times (the name's address patterns with the mailbox providers, then the name alone, then unprimed).

Every spoken address of the held-out sets (`heldout`: paired with the name whose first name it holds, as the
e2e callers are; `heldout-2`: with its own `name`; with `--callers`, `callers`: every whole held-out caller's,
heldout-3 on, with that caller's name) is synthesised in each voice and transcribed by Whisper tiny (5 best
readings) under each prompt; right = the first reading the email normaliser accepts is the expected address. "a,
then b": the readings of prompt a, then those of b, as `hypotheses` does with several prompts.

    python -m bench.email_priming [--voices piper,slt,awb,rms] [--shipped] [--callers]
    # writes docs/email-priming[-shipped].md
"""

from __future__ import annotations

import argparse
import sys
import tomllib

import numpy as np

from bench.accuracy_bench import HELD_OUT_CALLERS
from bench.common import machine
from bench.stt_accuracy import CORPORA, frames_of, is_spoken, synthesize
from onboarding.interview.definition import load_definition
from onboarding.interview.hearing import (
    MAILBOX_PROVIDERS,
    gives_value,
    hear_value,
    plainly_primed,
    primed_by_earlier_answers,
)
from onboarding.providers.whisper_stt import default_model_dir, hypotheses, load_whisper, to_whisper_input
from onboarding.settings import REPO_ROOT, get_settings

OUT = REPO_ROOT / "docs" / "email-priming.md"


def prompts_for(name: str, spec) -> dict[str, str | None]:
    """The prompts compared, for a caller who gave `name`."""
    first, last = name.lower().split()[0], name.lower().split()[-1]
    earlier = {"full_name": name}
    return {
        "none": None,
        PATTERNS: primed_by_earlier_answers(spec, earlier),
        PATTERNS_ALONE: f"{name}: {first}.{last}, {first}{last}, {first}.",
        NAME_ALONE: plainly_primed(spec, earlier),
        "lowercase words": f"{first}, {last}.",
        "name + providers": f"{name}. {MAILBOX_PROVIDERS}",
        "name + at": f"{name}. {first} at, {first}.{last} at",
        "name said": f"My name is {name}. My email is",
        "addresses said": f"{name}: {first} dot {last} at gmail dot com, {first[0]}{last} at outlook dot com.",
    }


PATTERNS, NAME_ALONE = "patterns + providers (the call's first)", "name alone (the call's second)"
PATTERNS_ALONE = "patterns alone (the call's first before 2026-12-07 night)"
UNIONS = [(PATTERNS, NAME_ALONE, "none"), (PATTERNS_ALONE, NAME_ALONE, "none"), (PATTERNS, NAME_ALONE),
          (PATTERNS_ALONE, NAME_ALONE), (NAME_ALONE, PATTERNS)]
SHIPPED = UNIONS[:2]
CALLERS = "callers"  # every whole caller's address (heldout-3 …), with that caller's own name


def cases(corpus: str) -> list[tuple[str, str, str]]:
    """(text, expected, name) of every spoken address of a held-out set, or of every whole held-out caller."""
    if corpus == CALLERS:
        return [case for path in HELD_OUT_CALLERS.values() if path.name != "heldout.toml"
                for case in callers_addresses(path)]
    data = tomllib.loads(CORPORA[corpus].read_text(encoding="utf-8"))
    names = [entry["expected"] for entry in data.get("full_name", [])]
    out = []
    for index, entry in enumerate(data["email"]):
        if not is_spoken(entry["text"]):
            continue
        name = entry.get("name") or next((n for n in names if n.split()[0].lower() in entry["expected"]),
                                         names[index % len(names)])
        out.append((entry["text"], entry["expected"], name))
    return out


def callers_addresses(path) -> list[tuple[str, str, str]]:
    """(text, expected, name) of each caller's address in a file of whole callers (the n-th entry of every field
    is caller n), with the name that caller gave."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [(entry["text"], entry["expected"], name["expected"])
            for entry, name in zip(data["email"], data["full_name"], strict=False) if is_spoken(entry["text"])]


def first_accepted(spec, heard: dict[str, list[str]], expected: str, *labels: str) -> bool:
    """The first reading the normaliser accepts, over the prompts' readings in order, is the expected address."""
    readings = [r for label in labels for r in heard[label]]
    value = hear_value(spec, readings) if readings else None
    return value is not None and value.value.value == expected


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.email_priming", description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default="piper,slt,awb,rms")
    parser.add_argument("--shipped", action="store_true",
                        help="only the prompts a call uses (patterns, the name alone, none), and the patterns before")
    parser.add_argument("--callers", action="store_true",
                        help="also every whole held-out caller's address (heldout-3 …), with that caller's name")
    args = parser.parse_args(argv)
    corpora = ("heldout", "heldout-2", CALLERS) if args.callers else ("heldout", "heldout-2")
    voices = [v for v in args.voices.split(",") if v]
    spec = load_definition(get_settings().interview_path).field("email")
    model = load_whisper(default_model_dir())
    hypotheses(model, np.zeros(16000, dtype=np.float32), 1)
    right: dict[tuple[str, str], list[bool]] = {}
    needed: dict[tuple[str, int], list[bool]] = {}  # (set, which decoding) → run or not
    started = machine()
    for corpus in corpora:
        for voice in voices:
            for text, expected, name in cases(corpus):
                audio = to_whisper_input(frames_of(synthesize(text, voice)))
                prompts = prompts_for(name, spec)
                if args.shipped:
                    prompts = {label: prompts[label] for label in dict.fromkeys(sum(SHIPPED, ()))}
                heard = {label: hypotheses(model, audio, prompt=prompt) for label, prompt in prompts.items()}
                for label in prompts:
                    right.setdefault((corpus, label), []).append(first_accepted(spec, heard, expected, label))
                # the call decodes a further prompt only while no reading of the ones before gives an address
                needed.setdefault((corpus, 2), []).append(not gives_value(spec, heard[PATTERNS]))
                needed.setdefault((corpus, 3), []).append(
                    not gives_value(spec, heard[PATTERNS] + heard[NAME_ALONE]))
                for union in SHIPPED if args.shipped else UNIONS:
                    right.setdefault((corpus, ", then ".join(union)), []).append(
                        first_accepted(spec, heard, expected, *union))
                print(".", end="", file=sys.stderr, flush=True)
    labels = list(dict.fromkeys(label for _, label in right))
    lines = ["# Priming an address with the caller's name: which prompt", "",
             f"Run on: {started}. Command: `python -m bench.email_priming {' '.join(argv)}`.", "",
             __doc__.split("\n\n")[1].replace("\n", " "), "",
             f"| prompt | {' | '.join(corpora)} | all |", "|---|" + "---|" * (len(corpora) + 1)]
    for label in labels:
        cells = [share(right[(corpus, label)]) for corpus in corpora]
        cells.append(share([ok for corpus in corpora for ok in right[(corpus, label)]]))
        lines.append(f"| {label} | {' | '.join(cells)} |")
    second = [ran for corpus in corpora for ran in needed[(corpus, 2)]]
    third = [ran for corpus in corpora for ran in needed[(corpus, 3)]]
    lines += ["", f"A call decodes a further prompt only while no reading of the ones before gives an address: the "
              f"second (name alone) here for {share(second)} answers, the third (none) for {share(third)}; a union's "
              "accuracy is the same with or without that gate."]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    out = OUT.with_name("email-priming-shipped.md") if args.shipped else OUT
    out.write_text(text, encoding="utf-8")
    print(f"written to {out.relative_to(REPO_ROOT)}")
    return 0


def share(oks: list[bool]) -> str:
    return f"{sum(oks)}/{len(oks)} · {100 * sum(oks) / len(oks):.1f} %" if oks else "–"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
