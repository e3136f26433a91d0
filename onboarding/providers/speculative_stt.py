"""Whisper as a streaming STT that starts transcribing at the caller's first short pause.

livekit-agents' own adapter for a non-streaming STT waits for the VAD's end of speech (0.25 s of silence) and
only then transcribes (≈ 0.45 s), so the transcript is ready ≈ 0.7 s after the caller stops. Here the same VAD
events cut the utterance, but once `speculate_after` seconds of silence follow speech the audio so far is
transcribed at once; if the caller goes on, that result is dropped and the whole utterance is transcribed at the
next pause, so what is heard is always the whole utterance, as before. A speculation the end of speech confirms
saves the rest of the VAD's silence window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING

from livekit import rtc
from livekit.agents import stt, utils, vad
from livekit.agents.stt.stream_adapter import DEFAULT_STREAM_ADAPTER_API_CONNECT_OPTIONS
from livekit.agents.types import NOT_GIVEN, NotGivenOr

if TYPE_CHECKING:
    from onboarding.providers.whisper_stt import WhisperSTT

log = logging.getLogger("onboarding.stt")
SILENT_BELOW = 0.35  # a VAD window under this speech probability counts as silence (the VAD's own release level)


class _Utterance:
    """The audio of the utterance being spoken, and the transcription started at its latest pause."""

    def __init__(self, frames: list[rtc.AudioFrame]) -> None:
        self.frames = list(frames)
        self.silence = 0.0  # seconds of silence at the end so far
        self.guess: asyncio.Task[stt.SpeechEvent] | None = None
        self.speculated = 0  # transcriptions started early (the last one may be used)

    def drop_guess(self) -> None:
        if self.guess is not None:
            self.guess.cancel()
            self.guess = None


class SpeculativeStream(stt.RecognizeStream):
    def __init__(self, whisper: WhisperSTT, *, vad: vad.VAD, speculate_after: float,
                 language: NotGivenOr[str] = NOT_GIVEN) -> None:
        super().__init__(stt=whisper, conn_options=DEFAULT_STREAM_ADAPTER_API_CONNECT_OPTIONS)
        self._whisper = whisper
        self._vad = vad
        self._speculate_after = speculate_after
        self._language = language
        self.speculations = 0  # started early
        self.speculation_hits = 0  # of those, used as the final transcript

    async def _metrics_monitor_task(self, event_aiter: AsyncIterable[stt.SpeechEvent]) -> None:
        async for _ in event_aiter:  # recognize() reports the metrics of each transcription
            pass

    def _recognize(self, frames: list[rtc.AudioFrame]) -> asyncio.Task[stt.SpeechEvent]:
        return asyncio.create_task(self._whisper.recognize(buffer=utils.merge_frames(frames),
                                                           language=self._language))

    async def _run(self) -> None:
        vad_stream = self._vad.stream()

        async def forward_input() -> None:
            async for item in self._input_ch:
                if isinstance(item, self._FlushSentinel):
                    vad_stream.flush()
                else:
                    vad_stream.push_frame(item)
            vad_stream.end_input()

        forward = asyncio.create_task(forward_input(), name="speculative_stt_input")
        utterance: _Utterance | None = None
        try:
            async for event in vad_stream:
                if event.type == vad.VADEventType.START_OF_SPEECH:
                    if utterance is not None:
                        utterance.drop_guess()
                    utterance = _Utterance(event.frames)
                    self._event_ch.send_nowait(stt.SpeechEvent(stt.SpeechEventType.START_OF_SPEECH))
                elif event.type == vad.VADEventType.INFERENCE_DONE and utterance is not None:
                    self._on_window(utterance, event)
                elif event.type == vad.VADEventType.END_OF_SPEECH and utterance is not None:
                    done, utterance = utterance, None
                    await self._finish(done, event)
        finally:
            if utterance is not None:
                utterance.drop_guess()
            await utils.aio.cancel_and_wait(forward)
            await vad_stream.aclose()

    def _on_window(self, utterance: _Utterance, event: vad.VADEvent) -> None:
        utterance.frames.extend(event.frames)
        if event.probability >= SILENT_BELOW:
            utterance.silence = 0.0
            utterance.drop_guess()  # the caller went on: that transcript would cut the answer short
            return
        utterance.silence += sum(f.samples_per_channel / f.sample_rate for f in event.frames)
        if (self._speculate_after > 0 and utterance.guess is None
                and utterance.silence >= self._speculate_after):
            utterance.guess = self._recognize(utterance.frames)
            utterance.speculated += 1
            self.speculations += 1

    async def _finish(self, utterance: _Utterance, event: vad.VADEvent) -> None:
        speech_end_time = time.time() - event.silence_duration - event.inference_duration
        self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH,
                                                   speech_end_time=speech_end_time))
        guess = utterance.guess
        if guess is not None:
            self.speculation_hits += 1
            task = guess
        else:
            task = self._recognize(list(event.frames))
        result = await task
        if not result.alternatives or not result.alternatives[0].text:
            return
        self._event_ch.send_nowait(stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT, alternatives=[result.alternatives[0]],
            speech_end_time=speech_end_time))

