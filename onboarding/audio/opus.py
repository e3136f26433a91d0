"""PCM → Opus in OGG with PyAV (libopus): a turn of speech in a few kilobytes that every browser plays."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np

CLIP_RATE = 24_000  # an Opus rate (8/12/16/24/48 kHz): full speech band, half the bits of 48 kHz
CLIP_BITRATE = 24_000
# libopus effort, 0–10 (ffmpeg's default 10): a call encodes every second it hears and says, and at 10 that was
# ≈ 0.8 % of a core per second of audio, up to a tenth of a cloud call's cost; 5 takes ≈ 0.3 % for files ≈ 20 %
# larger at the same bit rate (`python -m bench.clip_encoding`, docs/density.md).
CLIP_COMPLEXITY = 5
CONTENT_TYPE = "audio/ogg"


@dataclass(frozen=True)
class EncodedClip:
    data: bytes
    seconds: float  # the audio's length, as the browser's <audio> element reports it


def encode_opus(pcm: np.ndarray, rate: int) -> EncodedClip:
    """Mono int16 samples at `rate` as an OGG/Opus file (resampled to CLIP_RATE)."""
    samples = np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1)
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=CLIP_RATE, layout="mono")
        stream.bit_rate = CLIP_BITRATE
        stream.options = {"compression_level": str(CLIP_COMPLEXITY)}
        resampler = av.AudioResampler(format="s16", layout="mono", rate=CLIP_RATE)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = rate
        for piece in (*resampler.resample(frame), *resampler.resample(None)):
            for packet in stream.encode(piece):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return EncodedClip(out.getvalue(), samples.shape[1] / rate)


def decoded_seconds(data: bytes) -> float:
    """How long an OGG/Opus file plays, by decoding it: what a test compares the stored length with."""
    with av.open(io.BytesIO(data)) as container:
        return sum(frame.samples / frame.sample_rate for frame in container.decode(audio=0))
