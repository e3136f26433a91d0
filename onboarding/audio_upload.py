"""Uploaded push-to-talk audio → 16 kHz mono float32 for Whisper, or a refusal that says what is allowed.

Browsers record WebM/Opus (Chrome, Firefox), MP4/AAC (Safari) or WAV; scripts send WAV, OGG or MP3. The
container is recognised from its first bytes and only those demuxers are used, so arbitrary bytes never
reach an FFmpeg format prober; the duration limit is enforced while decoding, so a small file that
expands to hours of audio is refused without being decoded in full.
"""

from __future__ import annotations

import io
import itertools
import logging
import wave
from dataclasses import dataclass

import av
import numpy as np

from onboarding.providers.whisper_stt import WHISPER_RATE

log = logging.getLogger("onboarding.audio_upload")

ACCEPTED = "WAV, WebM/Opus, OGG, MP3 or MP4/AAC"
SUPPORTED_TYPES = {
    "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/webm", "video/webm", "audio/ogg",
    "application/ogg", "audio/opus", "audio/mpeg", "audio/mp3", "audio/mp4", "audio/x-m4a", "audio/m4a",
    "video/mp4",
}
GENERIC_TYPES = {"", "application/octet-stream"}  # no claim: recognised from the bytes


class AudioRejected(ValueError):
    """An upload we refuse; `status` is the HTTP status that fits (400, 413 or 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # float32, mono, WHISPER_RATE
    container: str  # the demuxer that read it: wav, matroska, ogg, mp3 or mp4
    source_rate: int

    @property
    def seconds(self) -> float:
        return self.samples.size / WHISPER_RATE


def sniff_container(data: bytes) -> str | None:
    """The FFmpeg demuxer for these bytes, from their magic number; None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"  # WebM is a Matroska profile
    if data[:4] == b"OggS":
        return "ogg"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def check_content_type(content_type: str | None) -> None:
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in SUPPORTED_TYPES and declared not in GENERIC_TYPES:
        raise AudioRejected(415, f"unsupported audio type {declared!r}: send {ACCEPTED}")


def decode_upload(data: bytes, content_type: str | None, *, max_seconds: float) -> DecodedAudio:
    """Decode any sample rate and channel count to Whisper's input; raise AudioRejected for bad input."""
    check_content_type(content_type)
    if not data:
        raise AudioRejected(400, "the audio file is empty")
    container = sniff_container(data)
    if container is None:
        raise AudioRejected(400, f"the upload is not audio: send {ACCEPTED}")
    try:
        return _decode(data, container, max_seconds)
    except AudioRejected:
        raise
    except Exception as exc:  # anything FFmpeg says about client bytes is the client's problem, never a 500
        log.info("undecodable upload", extra={"container": container, "error": type(exc).__name__})
        raise AudioRejected(400, f"the {container} audio could not be decoded: send {ACCEPTED}") from exc


def _decode(data: bytes, container_name: str, max_seconds: float) -> DecodedAudio:
    limit = int(max_seconds * WHISPER_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    with av.open(io.BytesIO(data), format=container_name, metadata_errors="ignore") as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioRejected(400, "the file has no audio track")
        source_rate = stream.codec_context.sample_rate or 0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=WHISPER_RATE)
        # frames are decoded lazily, so the duration limit stops decoding early; None flushes the resampler
        for frame in itertools.chain(container.decode(stream), [None]):
            for out in resampler.resample(frame):
                pcm = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                total += pcm.size
                if total > limit:
                    raise AudioRejected(413, f"the audio is longer than the {max_seconds:g} s limit per turn")
                chunks.append(pcm)
    if total == 0:
        raise AudioRejected(400, "the audio file contains no sound")
    return DecodedAudio(np.concatenate(chunks), container_name, source_rate)


def wav_bytes(pcm: bytes | np.ndarray, rate: int) -> bytes:
    """int16 mono PCM as a WAV file: the one WAV writer (REST replies, test audio, the browser caller's clips)."""
    data = pcm.astype(np.int16).tobytes() if isinstance(pcm, np.ndarray) else pcm
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(data)
    return out.getvalue()
