"""Does a shorter Whisper window or fewer decoder steps cut the ≈ 0.4 s per utterance without losing accuracy?

    python -m bench.whisper_speed [--limit N] [--corpus heldout] [--voices piper,slt,awb,rms]

The spoken answers of a corpus (bench.stt_accuracy's selection, its prompts primed as the call primes them), each
synthesised once and then heard by every variant on the same audio, through the product's own decoding
(`whisper_stt.hypotheses`: the N best, the first reading the field's normaliser accepts): the time per utterance
(median and p95) and the share of fields exactly right. Variants change only the encoder's window (the utterance
and a margin instead of Whisper's whole 30 s: the encoder is ≈ 0.3 s of the ≈ 0.4 s) or the beam. Results go to
docs/density.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from bench.common import machine, percentile, write_section
from bench.stt_accuracy import CORPORA, frames_of, load_cases, sample, stt_prompts, synthesize
from onboarding.interview.definition import load_definition
from onboarding.interview.hearing import hearing_plan
from onboarding.interview.normalize import normalizer_for_kind
from onboarding.providers.whisper_stt import WHISPER_RATE, default_model_dir, hypotheses, load_whisper, to_whisper_input
from onboarding.settings import REPO_ROOT, get_settings

VOICES = ("piper", "slt", "awb", "rms")
VARIANTS: dict[str, dict] = {  # keyword arguments of hypotheses()
    "30 s window, beam 5 (shipped: a lone answer)": {},
    "utterance + 16 s, beam 5 (shipped: beside another)": {"window_margin_s": 16.0},
    "utterance + 10 s, beam 5": {"window_margin_s": 10.0},
    "utterance + 6 s, beam 5": {"window_margin_s": 6.0},
    "utterance + 3 s, beam 5": {"window_margin_s": 3.0},
    "utterance + 1 s, beam 5": {"window_margin_s": 1.0},
    "30 s window, greedy (1 reading)": {"beam_size": 1, "n_best": 1},
}


def prompt_for(case, prompts: dict[str, str], fields: dict):
    """The prompt the call gives Whisper for this answer (primed with the caller's name when the case has one)."""
    if case.name and case.kind in fields:
        return hearing_plan(fields[case.kind], {"full_name": case.name}).prompts or None
    return prompts.get(case.kind)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=60, help="corpus answers (sampled across kinds)")
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="heldout")
    parser.add_argument("--voices", default=",".join(VOICES))
    args = parser.parse_args(argv)
    started = time.monotonic()
    prompts = stt_prompts()
    fields = {spec.kind: spec for spec in load_definition(get_settings().interview_path).fields}
    cases = sample(load_cases(corpus_path=CORPORA[args.corpus]), args.limit)
    voices = args.voices.split(",")
    audio = [(case, to_whisper_input(frames_of(synthesize(case.text, voice)))) for voice in voices for case in cases]
    model = load_whisper(default_model_dir())
    hypotheses(model, np.zeros(WHISPER_RATE, dtype=np.float32), 1)  # warm-up
    rows = []
    for name, variant in VARIANTS.items():
        times, right = [], 0
        for case, pcm in audio:
            begin = time.perf_counter()
            readings = hypotheses(model, pcm, prompt=prompt_for(case, prompts, fields), **variant)
            times.append(time.perf_counter() - begin)
            normalize = normalizer_for_kind(case.kind)
            got = next((v for v in map(normalize, readings) if v is not None), None)
            right += (got.value if got else None) == case.expected
        rows.append((name, statistics.median(times) * 1000, percentile(times, 0.95) * 1000, right))
        print(f"{name}: {rows[-1][1]:.0f} ms median, {rows[-1][2]:.0f} ms p95, {right}/{len(audio)} right",
              file=sys.stderr, flush=True)
    table = ["| variant | ms per utterance (median) | p95 | fields exactly right |", "|---|---|---|---|"]
    table += [f"| {n} | {m:.0f} | {p:.0f} | {r}/{len(audio)} ({100 * r / len(audio):.1f} %) |" for n, m, p, r in rows]
    text = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}: {len(audio)} "
            f"utterances ({len(cases)} `{args.corpus}` answers × {', '.join(voices)}), Whisper tiny.en int8, 2 "
            f"threads, the product's decoding (`python -m bench.whisper_speed --limit {args.limit} --corpus "
            f"{args.corpus}`, {time.monotonic() - started:.0f} s).\n\n" + "\n".join(table))
    write_section(REPO_ROOT / "docs" / "density.md", "whisper-speed", text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
