"""Piper's ONNX session with its threads spinning (onnxruntime's default) or not, alone and beside Whisper.

    python -m bench.tts_beside_stt [--rounds N]

Offline, one inference process serves every call of a worker (`onboarding.providers.local_inference`): a sentence
is synthesised while another caller's answer is decoded. onnxruntime's pool busy-waits between and after runs by
default, which on 2 cores takes CPU the decoding beside it needs. Each way, the scripted interviewer's sentences
are synthesised `--rounds` times alone, then again while a thread decodes Piper's speech with Whisper tiny.en in a
loop; reported: Piper's time per sentence (mean, p95), Whisper's time per answer beside it, and the CPU of the
process per sentence. Written to docs/density.md.
"""

from __future__ import annotations

import argparse
import resource
import sys
import threading
import time

import numpy as np

from bench.common import machine, write_section
from onboarding.providers import local_tts, whisper_stt
from onboarding.settings import REPO_ROOT

DOC = REPO_ROOT / "docs" / "density.md"
SENTENCES = ("Thanks. What company are you with?", "Got it. What's your role there?",
             "And how many people are on your team?", "What's the main thing you hope to achieve?",
             "What's the best phone number to reach you?")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _to_16k(pcm: bytes, rate: int) -> np.ndarray:
    audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    return np.interp(np.arange(0, audio.size, rate / 16_000), np.arange(audio.size), audio).astype(np.float32)


def _round(voice, rounds: int, answers: list[np.ndarray] | None, whisper) -> tuple[list[float], list[float], float]:
    """Piper's seconds per sentence, Whisper's per answer (beside it, if `answers`), CPU seconds per sentence."""
    decoded: list[float] = []
    done = threading.Event()

    def decode_in_a_loop() -> None:
        while not done.is_set():
            for audio in answers or []:
                begin = time.perf_counter()
                whisper_stt.hypotheses(whisper, audio)
                decoded.append(time.perf_counter() - begin)
                if done.is_set():
                    return

    decoder = threading.Thread(target=decode_in_a_loop) if answers else None
    if decoder:
        decoder.start()
    cpu, said = _cpu(), []
    for _ in range(rounds):
        for text in SENTENCES:
            begin = time.perf_counter()
            list(local_tts.piper_sentences(voice, text))
            said.append(time.perf_counter() - begin)
    cpu = (_cpu() - cpu) / len(said)
    done.set()
    if decoder:
        decoder.join()
    return said, decoded, cpu


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args(argv)
    from piper import PiperVoice

    started = time.monotonic()
    path = str(local_tts.default_piper_voice())
    rate = local_tts.piper_sample_rate(path)
    voices = {"spinning (onnxruntime's default)": PiperVoice.load(path), "not spinning (shipped)":
              local_tts.load_piper(path)}
    whisper = whisper_stt.load_whisper(whisper_stt.default_model_dir())
    some_voice = next(iter(voices.values()))
    answers = [_to_16k(b"".join(local_tts.piper_sentences(some_voice, text)), rate) for text in SENTENCES]
    rows = []
    for name, voice in voices.items():
        list(local_tts.piper_sentences(voice, SENTENCES[0]))  # warm
        alone, _, cpu_alone = _round(voice, args.rounds, None, whisper)
        beside, decoded, cpu_beside = _round(voice, args.rounds, answers, whisper)
        rows.append((name, 1000 * np.mean(alone), 1000 * np.percentile(alone, 95), 1000 * cpu_alone,
                     1000 * np.mean(beside), 1000 * np.percentile(beside, 95), 1000 * np.mean(decoded),
                     1000 * cpu_beside))
    table = ["| Piper's threads | alone: ms per sentence (mean / p95) | CPU ms per sentence | beside Whisper: ms per "
             "sentence (mean / p95) | Whisper ms per answer beside it | CPU ms per sentence (both) |",
             "|---|---|---|---|---|---|"]
    table += [f"| {name} | {a:.0f} / {a95:.0f} | {ca:.0f} | {b:.0f} / {b95:.0f} | {w:.0f} | {cb:.0f} |"
              for name, a, a95, ca, b, b95, w, cb in rows]
    text = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}: "
            f"{len(SENTENCES)} sentences × {args.rounds} rounds each way (`python -m bench.tts_beside_stt`, "
            f"{time.monotonic() - started:.0f} s).\n\n" + "\n".join(table))
    write_section(DOC, "tts-beside-stt", text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
