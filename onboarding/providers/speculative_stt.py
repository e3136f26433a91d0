"""Whisper as a streaming STT that starts transcribing at the caller's first short pause.

livekit-agents' own adapter for a non-streaming STT waits for the VAD's end of speech (0.25 s of silence) and
only then transcribes (≈ 0.45 s), so the transcript is ready ≈ 0.7 s after the caller stops. Here the same VAD
events cut the utterance, but once `speculate_after` seconds of silence follow speech the audio so far is
transcribed at once; if the caller goes on, that result is dropped and the whole utterance is transcribed at the
next pause, so what is heard is always the whole utterance, as before. A speculation the end of speech confirms
saves the rest of the VAD's silence window.

A pause inside a long answer (a spelled address, 10–20 s of "D as in Delta, …") ends an utterance while the caller
goes on. Each utterance's transcript is emitted in order, but one whose caller had already resumed by the time it
was ready is held and emitted with the next one's, as one final transcript. Emitted alone, livekit-agents would
commit it at the end of the next part's speech, before that part's (slower) transcript came: the answer's tail then
arrived as a separate turn, after the agent had replied to its head, and was taken as the next question's answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
# No early transcription of an utterance already longer than this: answers that long are spellings and lists, with
# a pause at every comma, and each guess (dropped when the caller goes on) was a transcription of all the audio so
# far that ran on to the end: a 33 s spelling cost 21 of them, 10x its own length in Whisper time.
SPECULATE_UP_TO = 6.0


class _Utterance:
    """The audio of the utterance being spoken, and the transcription started at its latest pause."""

    def __init__(self, frames: list[rtc.AudioFrame]) -> None:
        self.frames = list(frames)
        self.silence = 0.0  # seconds of silence at the end so far
        self.seconds = sum(f.samples_per_channel / f.sample_rate for f in frames)
        self.guess: asyncio.Task[stt.SpeechEvent] | None = None

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
        self._utterance: _Utterance | None = None  # the one being spoken

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
        finished: asyncio.Queue[_Finished | None] = asyncio.Queue()
        following = asyncio.create_task(self._follow_speech(vad_stream, finished), name="speculative_stt_vad")
        try:
            await self._emit_in_order(finished)  # until the input ends (or a transcription fails)
            await following
        finally:
            if self._utterance is not None:
                self._utterance.drop_guess()
            await utils.aio.cancel_and_wait(forward, following)
            await vad_stream.aclose()

    async def _follow_speech(self, vad_stream: vad.VADStream, finished: asyncio.Queue[_Finished | None]) -> None:
        """Cut the audio into utterances; each one ended goes to `finished`, its transcription already running."""
        try:
            async for event in vad_stream:
                utterance = self._utterance
                if event.type == vad.VADEventType.START_OF_SPEECH:
                    if utterance is not None:
                        utterance.drop_guess()
                    self._utterance = _Utterance(event.frames)
                    self._event_ch.send_nowait(stt.SpeechEvent(stt.SpeechEventType.START_OF_SPEECH))
                elif event.type == vad.VADEventType.INFERENCE_DONE and utterance is not None:
                    self._on_window(utterance, event)
                elif event.type == vad.VADEventType.END_OF_SPEECH and utterance is not None:
                    self._utterance = None
                    finished.put_nowait(self._finish(utterance, event))
        finally:
            finished.put_nowait(None)

    def _on_window(self, utterance: _Utterance, event: vad.VADEvent) -> None:
        utterance.frames.extend(event.frames)
        window = sum(f.samples_per_channel / f.sample_rate for f in event.frames)
        utterance.seconds += window
        if event.probability >= SILENT_BELOW:
            utterance.silence = 0.0
            utterance.drop_guess()  # the caller went on: that transcript would cut the answer short
            return
        utterance.silence += window
        if (self._speculate_after > 0 and utterance.guess is None and utterance.seconds <= SPECULATE_UP_TO
                and utterance.silence >= self._speculate_after):
            utterance.guess = self._recognize(utterance.frames)
            self.speculations += 1

    def _finish(self, utterance: _Utterance, event: vad.VADEvent) -> _Finished:
        """End of speech now; the transcription (the guess at its last pause, if still valid) runs on."""
        speech_end_time = time.time() - event.silence_duration - event.inference_duration
        self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH,
                                                   speech_end_time=speech_end_time))
        if utterance.guess is not None:
            self.speculation_hits += 1
            return _Finished(utterance.guess, speech_end_time)
        return _Finished(self._recognize(list(event.frames)), speech_end_time)

    async def _emit_in_order(self, finished: asyncio.Queue[_Finished | None]) -> None:
        held: list[list[stt.SpeechData]] = []  # the readings of each part before the one being said now
        while (item := await finished.get()) is not None:
            result = await item.transcription
            if result.alternatives and result.alternatives[0].text.strip():
                held.append(list(result.alternatives))
            if not held:
                continue
            if self._utterance is not None or not finished.empty():
                continue  # the caller went on before this part was heard: it goes out with what follows
            self._send_final(held, item.speech_end_time)
            held = []
        if held:  # the input ended while a part was held
            self._send_final(held, None)

    def _send_final(self, parts: list[list[stt.SpeechData]], speech_end_time: float | None) -> None:
        alternatives = parts[0] if len(parts) == 1 else self._joined(parts)
        self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                                                   alternatives=alternatives[:1],
                                                   speech_end_time=speech_end_time))

    def _joined(self, parts: list[list[stt.SpeechData]]) -> list[stt.SpeechData]:
        """One answer's parts as one transcript: its i-th reading joins each part's i-th (or last) reading, so the
        interview still hears several readings of the whole answer."""
        count = max(len(readings) for readings in parts)
        joined = [" ".join(readings[min(i, len(readings) - 1)].text.strip() for readings in parts)
                  for i in range(count)]
        self._whisper.remember(joined)
        return [dataclasses.replace(parts[-1][0], text=text, words=None,
                                    confidence=min(readings[0].confidence for readings in parts))
                for text in dict.fromkeys(joined)]


class _Finished:
    """An utterance the VAD has ended, and its transcription (running or done)."""

    def __init__(self, transcription: asyncio.Task[stt.SpeechEvent], speech_end_time: float) -> None:
        self.transcription = transcription
        self.speech_end_time = speech_end_time
