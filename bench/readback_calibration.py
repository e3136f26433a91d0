"""How often a value heard with a given confidence is right: where a field's read-back threshold belongs.

    python -m bench.readback_calibration [--corpora heldout-3,…] [--kinds company,role,…] [--voices …]

Every answer of the whole held-out callers (`tests/corpus/heldout-N.toml`, N = 2 … 19 unless `--corpora` says
otherwise; the n-th entry of each field is caller n) is spoken in each voice and heard as a call hears it:
Whisper's N best, primed as the field's hearing plan primes it with the caller's own name and address (confirmed
earlier in a call), the first reading the field's normaliser accepts, and the share of readings giving the same
value as its confidence (`hear_value`). A value below the field's `read_back_below` is read back for a yes; at or
above it, it is stored unheard by the caller. The table says, per field and per confidence, how many values were
right: a confidence at which many are wrong is
one the caller should hear back. Writes docs/readback-calibration.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.common import machine
from bench.stt_accuracy import DEFAULT_VOICES, check_voices, frames_of, synthesize
from harness.caller_audio import CALLER_VOICES
from onboarding.interview.definition import load_definition
from onboarding.interview.hearing import company_domain, hear_value, hearing_plan, parted_at_its_ending, same_value
from onboarding.providers.whisper_stt import Priming, default_model_dir, hypotheses, load_whisper, to_whisper_input
from onboarding.settings import REPO_ROOT, get_settings

OUT = REPO_ROOT / "docs" / "readback-calibration.md"
CORPUS_DIR = REPO_ROOT / "tests" / "corpus"
KINDS = ("company", "role", "primary_goal", "team_size", "timezone")
ALL_VOICES = (*DEFAULT_VOICES, *CALLER_VOICES[1:])


@dataclass(frozen=True)
class HeardAnswer:
    field: str
    voice: str
    said: str
    expected: str | int
    got: str | int | None
    confidence: float

    @property
    def right(self) -> bool:
        return self.got == self.expected


def callers(path: Path) -> list[dict[str, dict]]:
    """The whole callers of one held-out file: caller n is the n-th entry of every field."""
    corpus = tomllib.loads(path.read_text(encoding="utf-8"))
    count = min(len(entries) for kind, entries in corpus.items() if kind != "reject")
    return [{kind: entries[n] for kind, entries in corpus.items() if kind != "reject"} for n in range(count)]


# The held-out sets spent when the thresholds in data/interview.toml were chosen from this table (heldout-20 and
# later were written to measure that choice, so they are not in it).
CALIBRATION_CORPORA = tuple(f"heldout-{n}" for n in range(2, 20))


def corpus_paths(names: str) -> list[Path]:
    chosen = [name.strip() for name in names.split(",") if name.strip()] or CALIBRATION_CORPORA
    return [CORPUS_DIR / f"{name}.toml" for name in chosen]


def run(paths: list[Path], kinds: list[str], voices: list[str]) -> list[HeardAnswer]:
    fields = {spec.name: spec for spec in load_definition(get_settings().interview_path).fields}
    model = load_whisper(default_model_dir())
    results: list[HeardAnswer] = []
    every = [(caller, kind) for path in paths for caller in callers(path) for kind in kinds if kind in caller]
    for voice in voices:
        for caller, kind in every:
            spec = fields[kind]
            earlier = {name: caller[name]["expected"] for name in ("full_name", "email") if name in caller}
            plan = hearing_plan(spec, earlier)
            audio = to_whisper_input(frames_of(synthesize(caller[kind]["text"], voice)))
            readings = hypotheses(model, audio, prompt=Priming(plan.prompts, plan.enough) if plan.prompts else None)
            heard = hear_value(spec, plan.ordered(readings))
            if kind == "company":  # as the call does: a company heard as the caller's domain glued is parted
                heard = parted_at_its_ending(heard, company_domain(earlier))
            got = heard.value.value if heard else None
            results.append(HeardAnswer(kind, voice, caller[kind]["text"], caller[kind]["expected"], got,
                                 heard.confidence if heard else 0.0))
            print(f"\r{len(results)}/{len(every) * len(voices)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return results


def table(results: list[HeardAnswer]) -> str:
    by: dict[tuple[str, float], list[HeardAnswer]] = defaultdict(list)
    for result in results:
        if result.got is not None:
            by[(result.field, result.confidence)].append(result)
    lines = ["| field | confidence | values | right | right % |", "|---|---|---|---|---|"]
    for (field, confidence), heard in sorted(by.items(), key=lambda item: (item[0][0], -item[0][1])):
        right = sum(h.right for h in heard)
        lines.append(f"| {field} | {confidence:.2f} | {len(heard)} | {right} | {100 * right / len(heard):.0f} |")
    return "\n".join(lines)


def thresholds(results: list[HeardAnswer], kinds: list[str]) -> str:
    """Per field and threshold: what would be read back, and the wrong values stored unheard by the caller."""
    cuts = (0.5, 0.6, 0.65, 0.7, 0.8, 0.85, 0.9)
    lines = ["| field | read back below | values read back | right values read back | wrong values stored "
             "without a read-back |", "|---|---|---|---|---|"]
    for field in kinds:
        heard = [r for r in results if r.field == field and r.got is not None]
        if not heard:
            continue
        for cut in cuts:
            back = [r for r in heard if r.confidence < cut]
            stored_wrong = [r for r in heard if r.confidence >= cut and not r.right]
            lines.append(f"| {field} | {cut:.2f} | {len(back)}/{len(heard)} | {sum(r.right for r in back)} | "
                         f"{len(stored_wrong)} |")
    return "\n".join(lines)


def wrong_list(results: list[HeardAnswer]) -> str:
    return "\n".join(f"- [{r.field}/{r.voice}] {r.said!r} → {r.got!r} (confidence {r.confidence:.2f}), "
                     f"expected {r.expected!r}" for r in results if r.got is not None and not r.right
                     and not same_value(r.got, r.expected))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.readback_calibration", description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default="", help="held-out files by name, comma-separated (default: "
                                                      "heldout-2 … heldout-19)")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--voices", default=",".join(ALL_VOICES))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    check_voices(voices)
    paths = corpus_paths(args.corpora)
    started = time.monotonic()
    results = run(paths, kinds, voices)
    heading = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}; "
               f"{len(results)} answers ({', '.join(p.stem for p in paths)}; voices {', '.join(voices)}), "
               f"`python -m bench.readback_calibration {' '.join(argv)}`, {time.monotonic() - started:.0f} s.")
    text = (f"# Read-back calibration\n\n{heading}\n\n## Right values per confidence\n\n{table(results)}\n\n"
            f"## What each threshold reads back\n\n{thresholds(results, kinds)}\n\n"
            f"## Wrong values (case and punctuation aside)\n\n{wrong_list(results)}\n")
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
