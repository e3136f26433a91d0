"""Which provider serves each role. Local, offline providers are the default; a cloud key selects the cloud
provider for its role (any mix), with the local one behind it as the fallback for the rest of a call.

A stack is built per call (its fallback state and meters belong to that call). Local models load on first use,
once per process: in the agent worker that process is the worker's shared inference process (`local_inference`),
so a job process never holds a model and a call on cloud speech loads none unless it falls back.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import aiohttp
from livekit.agents import inference, stt, tts, vad
from livekit.agents.ipc.inference_executor import InferenceExecutor

from onboarding.interview import InterviewState, load_definition
from onboarding.providers import cloud
from onboarding.providers.fallback import (
    STT_ATTEMPT_TIMEOUT,
    STT_MAX_RETRY,
    STT_RETRY_INTERVAL,
    TTS_MAX_RETRY,
    FallbackReport,
    ProviderMonitor,
    StickySTTFallback,
    StickyTTSFallback,
)
from onboarding.providers.gemini_interviewer import GeminiInterviewer
from onboarding.providers.key_check import check_or_exit
from onboarding.providers.local_inference import RemoteSynthesizer, RemoteTranscriber
from onboarding.providers.local_tts import LocalTTS
from onboarding.providers.scripted_llm import ReplyHook, ScriptedInterviewer
from onboarding.providers.tts_cache import PhraseCache, known_sentences
from onboarding.providers.whisper_stt import WhisperSTT, priming
from onboarding.settings import Settings

log = logging.getLogger("onboarding.providers")


@dataclass
class SpeechStack:
    stt: stt.STT
    tts: tts.TTS
    vad: vad.VAD
    stt_label: str = ""  # set for a cloud provider (the adapter's own label changes after a fallback)
    tts_label: str = ""
    local_stt: WhisperSTT | None = None
    cloud_stt: cloud.MeteredDeepgramSTT | None = None
    monitor: ProviderMonitor = field(default_factory=ProviderMonitor)

    @property
    def labels(self) -> dict[str, str]:
        return {"stt": self.stt_label or f"{self.stt.provider}/{self.stt.model}",
                "tts": self.tts_label or f"{self.tts.provider}/{self.tts.model}"}

    def prime_stt(self, prompts: tuple[str, ...], enough: Callable[[list[str]], bool] | None = None) -> None:
        """The next answer's vocabulary: Whisper's initial prompts (each decoded, in order, while the readings so
        far are not `enough`), Deepgram's keyterms from the first (nova-3 keyterm prompting)."""
        if self.local_stt is not None:
            self.local_stt.prompt = priming(prompts, enough)
        if self.cloud_stt is not None:
            terms = cloud.keyterms(prompts[0] if prompts else None)
            if terms != self.cloud_stt._opts.keyterm:  # a change reconnects the stream, between turns
                self.cloud_stt.update_options(keyterm=terms)

    def transcribing(self) -> bool:
        """True while the local STT is still transcribing what the caller said (a cloud STT's words come as they
        are spoken)."""
        return self.local_stt is not None and self.local_stt.transcribing > 0

    def attach(self, report: FallbackReport, room_name: str = "") -> None:
        """Fallbacks go to `report` (the call's recorder); Deepgram's usage is tagged with the room."""
        self.monitor.attach(report)
        if self.cloud_stt is not None and room_name:
            # Deepgram's usage reports group requests by tag: one tag per room maps its bill onto our sessions
            self.cloud_stt.update_options(tags=[room_name[:128]])

    def finish(self) -> None:
        self.monitor.finish()


@lru_cache(maxsize=4)
def _known_sentences(interview_path: Path) -> frozenset[str]:
    return known_sentences(load_definition(interview_path))


def local_speech(settings: Settings, *, inference_executor: InferenceExecutor | None = None,
                 vad: vad.VAD | None = None) -> tuple[WhisperSTT, LocalTTS]:
    """The offline STT and TTS: serve every role without a key, stand behind every cloud one, and answer REST turns.

    Instances are cheap and load nothing: the weights load on first use, in this process or, given the worker's
    `inference_executor`, in its shared inference process. With `vad` Whisper streams and transcribes at the
    first short pause (STT_SPECULATE_AFTER_SECONDS)."""
    remote = inference_executor is not None
    whisper = WhisperSTT(model_dir=settings.stt_model_dir, beam_size=settings.stt_beam_size,
                         transcriber=RemoteTranscriber(inference_executor) if remote else None,
                         vad=vad, speculate_after=settings.stt_speculate_after_seconds)
    voice = LocalTTS(engine=settings.tts_engine, piper_voice_path=settings.piper_voice_path,
                     flite_voice=settings.flite_voice,
                     synthesizer=RemoteSynthesizer(inference_executor) if remote else None)
    if settings.tts_cache_dir:
        voice.cache = PhraseCache(Path(settings.tts_cache_dir), voice.voice_tag,
                                  _known_sentences(settings.interview_path))
    return whisper, voice


def build_speech_stack(settings: Settings, http_session: aiohttp.ClientSession | None = None,
                       inference_executor: InferenceExecutor | None = None) -> SpeechStack:
    """A stack per call (its fallback state and meters are the call's).

    `http_session` is for use outside a job (tests); inside one the plugins use the job's session.
    `inference_executor` (the job's): the local models run in the worker's shared inference process.
    """
    # livekit's bundled local Silero VAD (livekit-local-inference): no download, no network
    session_vad = inference.VAD(executor=INLINE)
    local_stt, local_tts = local_speech(settings, inference_executor=inference_executor, vad=session_vad)
    stack = SpeechStack(stt=local_stt, tts=local_tts, vad=session_vad, local_stt=local_stt)
    if settings.deepgram_api_key:
        meter = cloud.ConnectionMeter()
        primary = stack.cloud_stt = cloud.deepgram_stt(settings, meter, http_session)
        stack.stt = StickySTTFallback([primary, local_stt], vad=stack.vad, attempt_timeout=STT_ATTEMPT_TIMEOUT,
                                      max_retry_per_stt=STT_MAX_RETRY, retry_interval=STT_RETRY_INTERVAL)
        stack.stt_label = cloud.stt_label(settings)
        stack.monitor._stt_meter = meter
        stack.monitor.watch("stt", stack.stt, primary, stack.stt_label, _label(local_stt))
    if settings.eleven_api_key:
        primary_tts = cloud.elevenlabs_tts(settings, http_session)
        stack.tts = StickyTTSFallback([primary_tts, local_tts], max_retry_per_tts=TTS_MAX_RETRY)
        stack.tts_label = cloud.tts_label(settings)
        stack.monitor.watch("tts", stack.tts, primary_tts, stack.tts_label, _label(local_tts))
    return stack


class InlineExecutor(concurrent.futures.Executor):
    """Runs each task at once on the caller's thread. Silero VAD takes ≈ 19 µs per 32 ms window: handing it to a
    thread of its own (livekit's default, one per VAD stream) costs more than the inference."""

    def submit(self, fn, /, *args, **kwargs) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


INLINE = InlineExecutor()


def _label(instance: stt.STT | tts.TTS) -> str:
    return f"{instance.provider}/{instance.model}"


def turn_detector() -> inference.TurnDetector:
    """Pinned to the local v1-mini model: unpinned, dev mode would ask LiveKit Cloud."""
    return inference.TurnDetector(version="v1-mini")


def preload(settings: Settings) -> None:
    """Load the local models in this process and fill the TTS cache: an image build bakes them in this way (no
    network), and a check that they load. The agent worker itself loads them in its inference process only."""
    from livekit.local_inference import init_eot, init_vad

    check_or_exit(settings)
    init_vad()
    init_eot()  # the v1-mini end-of-turn weights (≈244 MB)
    whisper, voice = local_speech(settings)
    whisper.warm_up()
    voice.load()
    if voice.cache is not None:
        voice.cache.warm(voice.synthesize_uncached)
    log.info("models loaded", extra={"stt": _label(whisper), "tts": _label(voice)})


Interviewer = ScriptedInterviewer | GeminiInterviewer


def build_interviewer(settings: Settings, state: InterviewState, on_reply: ReplyHook,
                      monitor: ProviderMonitor | None = None) -> Interviewer:
    """Gemini when GOOGLE_API_KEY is set (the scripted rules behind it; its fallbacks go to `monitor`), the scripted
    interviewer otherwise. Both expose `label`, `prepare(agent)` and `video_options()`."""
    if not settings.google_api_key:
        from onboarding.turn_taking import MergingInterviewer  # an answer split by a pause is taken whole

        return MergingInterviewer(state, on_reply=on_reply)
    return GeminiInterviewer(state, settings, on_reply=on_reply, monitor=monitor)
