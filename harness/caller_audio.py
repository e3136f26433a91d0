"""Caller-side audio: answers synthesised with flite (a different voice from the agent's), WAV files,
silence and noise, all as 48 kHz mono int16 for a LiveKit microphone track."""

from __future__ import annotations

import io
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np
from livekit import rtc

from onboarding.audio_upload import wav_bytes

ROOM_RATE = 48000
CALLER_VOICES = ("slt", "awb", "rms")


def resample(pcm: np.ndarray, rate: int, target: int = ROOM_RATE) -> np.ndarray:
    if rate == target or pcm.size == 0:
        return pcm
    resampler = rtc.AudioResampler(rate, target, num_channels=1, quality=rtc.AudioResamplerQuality.HIGH)
    frame = rtc.AudioFrame(pcm.astype(np.int16).tobytes(), rate, 1, pcm.size)
    out = resampler.push(frame) + resampler.flush()
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in out]) if out else pcm


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        if wav.getnchannels() > 1:
            pcm = pcm.reshape(-1, wav.getnchannels()).mean(axis=1).astype(np.int16)
        return pcm, wav.getframerate()


def write_wav(path: Path, pcm: np.ndarray, rate: int = ROOM_RATE) -> None:
    path.write_bytes(wav_bytes(pcm, rate))


def speak(text: str, voice: str = "slt") -> np.ndarray:
    """Synthesise a caller's answer with flite, at room rate."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", out.name], check=True, capture_output=True)
        pcm, rate = read_wav(Path(out.name))
    return resample(pcm, rate)


def noise(seconds: float = 1.5, level: float = 0.05, seed: int = 7) -> np.ndarray:
    """Broadband hiss: not speech, so the agent must not take it for an answer."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * ROOM_RATE)) * level * 32767).clip(-32767, 32767).astype(np.int16)


def answer_audio(answer: str, voice: str = "slt") -> np.ndarray:
    """An answer spec: text to speak, a .wav path, `<silence>` or `<noise>`."""
    if answer == "<silence>":
        return np.zeros(0, dtype=np.int16)
    if answer == "<noise>":
        return noise()
    if answer.lower().endswith(".wav") and Path(answer).is_file():
        return resample(*read_wav(Path(answer)))
    return speak(answer, voice)


def prerender(answers: Iterable[str], voice: str = "slt") -> dict[str, np.ndarray]:
    """Every answer a caller may give, rendered once before a benchmark starts (CallScript.audio)."""
    return {answer: answer_audio(answer, voice) for answer in dict.fromkeys(answers)}


def trimmed(pcm: np.ndarray, floor: int = 200) -> np.ndarray:
    """Without the silence flite puts before and after an utterance (so a pause is the pause asked for)."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > floor)
    return pcm[loud[0]:loud[-1] + 1] if loud.size else pcm


def with_pause(first: str, second: str, pause: float, voice: str = "slt") -> np.ndarray:
    """Two pieces of one answer with exactly `pause` seconds of silence between them ("Jeff … Ronson Smith")."""
    gap = np.zeros(int(pause * ROOM_RATE), dtype=np.int16)
    return np.concatenate([trimmed(speak(first, voice)), gap, trimmed(speak(second, voice))])


def at_level(pcm: np.ndarray, dbfs: float) -> np.ndarray:
    """The same speech scaled so its loudness (RMS over the voiced part) is `dbfs` dB below full scale."""
    voiced = pcm[np.abs(pcm) > 100].astype(np.float64)
    current = 20 * np.log10(max(float(np.sqrt(np.mean(voiced ** 2))) / 32768, 1e-9)) if voiced.size else -90.0
    return np.clip(pcm.astype(np.float64) * 10 ** ((dbfs - current) / 20), -32768, 32767).astype(np.int16)
def tone(seconds: float, rate: int = ROOM_RATE, hz: float = 220.0) -> np.ndarray:
    """A steady sine: audio of a known length for the audio clip tests."""
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * hz * t) * 8000).astype(np.int16)


def rms(frame: rtc.AudioFrame) -> float:
    data = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32)
    return float(np.sqrt(np.mean(data * data))) if data.size else 0.0


ENCODINGS = {  # what browsers and scripts send: container → (FFmpeg muxer, codec, content type)
    "wav": ("wav", "pcm_s16le", "audio/wav"),
    "webm": ("webm", "libopus", "audio/webm;codecs=opus"),
    "ogg": ("ogg", "libopus", "audio/ogg"),
    "mp3": ("mp3", "libmp3lame", "audio/mpeg"),
}


def encode_audio(pcm: np.ndarray, rate: int, kind: str) -> tuple[bytes, str]:
    """int16 mono PCM as a file of `kind` (wav, webm, ogg, mp3) and its content type: for tests and the bench."""
    muxer, codec, content_type = ENCODINGS[kind]
    out = io.BytesIO()
    with av.open(out, "w", format=muxer) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in (*stream.encode(frame), *stream.encode(None)):
            container.mux(packet)
    return out.getvalue(), content_type
