"""What encoding each turn's clip costs a call, by libopus effort (`onboarding.audio.opus.CLIP_COMPLEXITY`).

    python -m bench.clip_encoding [--runs N]

A call encodes every second the caller says and the agent says (`onboarding.audio.capture`), so the encoder's CPU
is paid per second of call. The same speech (Piper joe, as the agent says it, and flite slt, as a caller) is
encoded at each effort N times; reported per second of audio: the CPU time (the fastest run: the encoder alone),
the bytes stored, and how many words of Whisper tiny.en's reading of the original it still reads in the decoded
clip (the words a member of staff hears; a codec at any effort moves a word or two). Written to docs/density.md.
"""

from __future__ import annotations

import argparse
import difflib
import io
import sys
import time

import av
import numpy as np

from bench.common import machine, write_section
from bench.stt_accuracy import synthesize
from onboarding.audio import opus
from onboarding.providers.whisper_stt import default_model_dir, load_whisper, transcribe
from onboarding.settings import REPO_ROOT

DOC = REPO_ROOT / "docs" / "density.md"
RATE = 48_000  # what synthesize() returns: the room's rate
SPEECH = {
    "piper": "Thanks. What company are you with? I heard Maria Garcia. Is that right? What's your role there?",
    "slt": "Hi, this is Haruto Tanaka. I work at Kumo Design, a small studio in Osaka, as the office manager.",
}
EFFORTS = (10, 5, 3, 0)


def decoded_pcm(data: bytes) -> np.ndarray:
    """The clip as a browser would play it, as 16 kHz float mono for Whisper."""
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16_000)
        frames = [f for frame in container.decode(audio=0) for f in resampler.resample(frame)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float32)


def to_16k(pcm: np.ndarray) -> np.ndarray:
    frame = av.AudioFrame.from_ndarray(pcm.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = RATE
    resampler = av.AudioResampler(format="flt", layout="mono", rate=16_000)
    out = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in out]).astype(np.float32)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    started = time.monotonic()
    speech = {voice: synthesize(" ".join([text] * 2), voice) for voice, text in SPEECH.items()}
    seconds = sum(pcm.size for pcm in speech.values()) / RATE
    whisper = load_whisper(default_model_dir())
    original = {voice: transcribe(whisper, to_16k(pcm)) for voice, pcm in speech.items()}
    shipped = opus.CLIP_COMPLEXITY
    rows = []
    try:
        for effort in EFFORTS:
            opus.CLIP_COMPLEXITY = effort
            cpu = min(sum(_cpu_seconds(pcm) for pcm in speech.values()) for _ in range(args.runs))
            clips = {voice: opus.encode_opus(pcm, RATE).data for voice, pcm in speech.items()}
            same = [_words_kept(original[v], transcribe(whisper, decoded_pcm(clips[v]))) for v in speech]
            rows.append((effort, 100 * cpu / seconds, sum(map(len, clips.values())) / seconds, min(same)))
    finally:
        opus.CLIP_COMPLEXITY = shipped
    table = ["| libopus effort | CPU, % of a core per second of audio | bytes per second | words of Whisper's reading "
             "of the original it reads in the clip (worse voice) |", "|---|---|---|---|"]
    table += [f"| {effort}{' (shipped)' if effort == shipped else ''} | {cpu:.2f} | {size:.0f} | {same:.0f} % |"
              for effort, cpu, size, same in rows]
    text = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}: {seconds:.1f} s of "
            f"speech (Piper joe and flite slt), {args.runs} runs each, 24 kbit/s Opus at 24 kHz "
            f"(`python -m bench.clip_encoding`, {time.monotonic() - started:.0f} s).\n\n" + "\n".join(table))
    write_section(DOC, "clip-encoding", text)
    print(text)


def _words_kept(original: str, heard: str) -> float:
    words = original.lower().split()
    matcher = difflib.SequenceMatcher(None, words, heard.lower().split())
    return 100 * sum(block.size for block in matcher.get_matching_blocks()) / max(1, len(words))


def _cpu_seconds(pcm: np.ndarray) -> float:
    begin = time.process_time()
    opus.encode_opus(pcm, RATE)
    return time.process_time() - begin


if __name__ == "__main__":
    main(sys.argv[1:])
