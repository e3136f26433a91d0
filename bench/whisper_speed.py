"""Does a shorter Whisper window or fewer decoder steps cut the ≈ 0.45 s per utterance without losing accuracy?

    python -m bench.whisper_speed [--limit N] [--voices piper,slt]

The answers of bench.stt_accuracy's corpus (same selection, same voices, same normalisers, same prompts), each
synthesised once and then transcribed by every variant on the same audio: the time per utterance (median and p95)
and the share of fields exactly right. Variants change only faster-whisper's window (`chunk_length`: the mel
features are padded to this many seconds instead of 30, so the encoder runs on less) and decoding (`beam_size`,
`max_new_tokens`); everything else is `whisper_stt.transcribe()`'s own call. Results go to docs/density.md.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

import numpy as np

from bench.common import machine, percentile, write_section
from bench.stt_accuracy import DEFAULT_VOICES, frames_of, load_cases, sample, stt_prompts, synthesize
from onboarding.interview.normalize import normalizer_for_kind
from onboarding.providers.whisper_stt import (
    _NON_SPEECH,
    NO_SPEECH_PROB,
    WHISPER_RATE,
    default_model_dir,
    load_whisper,
    to_whisper_input,
)
from onboarding.settings import REPO_ROOT


def fit_window(audio: np.ndarray) -> int:
    """The shortest whole-second window that holds the utterance plus a second of margin (Whisper's 30 s at most)."""
    return min(30, max(2, math.ceil(audio.size / WHISPER_RATE) + 1))


VARIANTS: dict[str, dict] = {
    "shipped: 30 s window, beam 5": {},
    "10 s window, beam 5": {"chunk_length": 10},
    "fitted window, beam 5": {"chunk_length": fit_window},
    "30 s window, greedy": {"beam_size": 1},
    "fitted window, greedy": {"chunk_length": fit_window, "beam_size": 1},
    "30 s window, beam 5, ≤ 40 tokens": {"max_new_tokens": 40},
}


def decode(model, audio: np.ndarray, prompt: str | None, variant: dict) -> str:
    """transcribe()'s call with one variant's options (a measurement copy: the product calls transcribe())."""
    options = {"beam_size": 5, **{k: (v(audio) if callable(v) else v) for k, v in variant.items()}}
    segments, _ = model.transcribe(audio, language="en", temperature=0.0, without_timestamps=True,
                                   condition_on_previous_text=False, vad_filter=False, initial_prompt=prompt or None,
                                   **options)
    parts = [s.text.strip() for s in segments if s.no_speech_prob < NO_SPEECH_PROB]
    return " ".join(p for p in parts if p and not _NON_SPEECH.match(p)).strip()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=120)
    parser.add_argument("--voices", default=",".join(DEFAULT_VOICES))
    args = parser.parse_args(argv)
    started = time.monotonic()
    prompts = stt_prompts()
    cases = sample(load_cases(), args.limit)
    voices = args.voices.split(",")
    audio = [(case, to_whisper_input(frames_of(synthesize(case.text, voice)))) for voice in voices for case in cases]
    model = load_whisper(default_model_dir())
    decode(model, np.zeros(WHISPER_RATE, dtype=np.float32), None, {})  # warm-up
    rows = []
    for name, variant in VARIANTS.items():
        times, right = [], 0
        for case, pcm in audio:
            begin = time.perf_counter()
            heard = decode(model, pcm, prompts.get(case.kind), variant)
            times.append(time.perf_counter() - begin)
            got = normalizer_for_kind(case.kind)(heard)
            right += (got.value if got else None) == case.expected
        rows.append((name, statistics.median(times) * 1000, percentile(times, 0.95) * 1000, 100 * right / len(audio)))
        print(f"{name}: {rows[-1][1]:.0f} ms median, {rows[-1][2]:.0f} ms p95, {rows[-1][3]:.1f} % right",
              file=sys.stderr, flush=True)
    table = ["| variant | ms per utterance (median) | p95 | fields exactly right |", "|---|---|---|---|"]
    table += [f"| {n} | {m:.0f} | {p:.0f} | {r:.1f} % |" for n, m, p, r in rows]
    text = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}: {len(audio)} "
            f"utterances ({len(cases)} corpus answers × {', '.join(voices)}), Whisper tiny.en int8, 2 threads "
            f"(`python -m bench.whisper_speed --limit {args.limit}`, {time.monotonic() - started:.0f} s).\n\n"
            + "\n".join(table))
    write_section(REPO_ROOT / "docs" / "density.md", "whisper-speed", text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
