"""Simulated caller: joins a room over real WebRTC and answers the agent out loud.

    python -m harness.simcaller "Maria Garcia" "maria at example dot com" ... [--hang-up-after N]

It takes a token through the same path as any client, speaks each answer (flite voice, a WAV file,
`<silence>` or `<noise>`) once the agent has finished speaking, records the agent, and reports the
transcript, the stored profile and per-turn voice-to-voice latency (end of the caller's speech →
first agent audio frame received).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from livekit import rtc

from harness.caller_audio import ROOM_RATE, answer_audio, resample, rms, write_wav
from harness.personas import ListeningCaller, Typed
from onboarding.interview.spelling import spell_out_with_words
from onboarding.livekit_admin import issue_token
from onboarding.settings import Settings, get_settings

FRAME = ROOM_RATE // 100  # 10 ms
AGENT_AUDIO_RMS = 300.0  # above the codec's comfort noise


@dataclass
class CallScript:
    answers: list[str] = field(default_factory=list)
    # Reactive mode, like a person: answer whatever field the agent asks for (its `onboarding.asking`
    # attribute), "Yes." to read-backs, and the same answer again when asked again.
    answer_book: dict[str, str] | None = None
    expected: dict[str, str | int] | None = None  # to say "No." to a wrong read-back, as a person would
    max_turns: int = 30
    voice: str = "slt"
    hang_up_after: int | None = None
    barge_in_at: set[int] = field(default_factory=set)  # answer indexes spoken over the agent
    record_path: Path | None = None
    timeout: float = 180.0
    # told (room, answer) just before each answer is spoken: the cloud benchmark's fake STT hears it this way
    on_answer: Callable[[str, str], None] | None = None
    # A caller who listens to what the agent SAYS (its lk.transcription text) and decides from that alone: reads
    # no structured attribute (harness.personas.ListeningCaller); it may also type a correction over RPC.
    listener: ListeningCaller | None = None
    # answers rendered ahead (caller_audio.prerender): the benchmark's callers synthesise nothing during a run
    audio: Mapping[str, np.ndarray] | None = None


@dataclass
class CallResult:
    room_name: str
    transcript: list[tuple[str, str]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    completed: bool = False
    status: str | None = None
    profile_id: int | None = None
    fields: dict = field(default_factory=dict)
    answers_spoken: int = 0
    typed: list[tuple[str, str]] = field(default_factory=list)  # (field, answer of the agent's RPC)
    seconds: float = 0.0  # from joining the room to the end of the call
    unanswered: list[str] = field(default_factory=list)  # answers the agent never replied to (a failed turn)


def reactive_answer(agent_attributes: dict[str, str], answer_book: dict[str, str],
                    expected: dict[str, str | int] | None = None) -> str | None:
    """What a person would say to the agent's current question (its `onboarding.*` attributes):
    the answer for the asked field, "Yes."/"No." to a read-back, the expected value spelled when asked to spell,
    "No." to "anything else?", and nothing (None) to the goodbye: the agent asks nothing any more and the call is
    about to end."""
    confirming = agent_attributes.get("onboarding.confirming")
    # an attribute set to "" is deleted (LiveKit): no "asking" once the agent has published progress = no question
    if "onboarding.status" in agent_attributes and not agent_attributes.get("onboarding.asking") and not confirming:
        return None
    if agent_attributes.get("onboarding.asking") == "end_call":
        return "No."  # this caller wants to finish the onboarding
    if confirming:
        heard = json.loads(agent_attributes.get("onboarding.confirming_value") or "null")
        return "Yes." if heard == (expected or {}).get(confirming, heard) else "No."
    to_spell = (expected or {}).get(agent_attributes.get("onboarding.spelling", ""))
    if to_spell is not None:  # asked to spell: a word for each letter, as the agent asks
        return spell_out_with_words(str(to_spell).lower())
    return answer_book.get(agent_attributes.get("onboarding.asking", ""), "Skip.")


class SimCaller:
    def __init__(self, settings: Settings, script: CallScript) -> None:
        self.settings, self.script = settings, script
        self.room: rtc.Room
        self.source: rtc.AudioSource
        self.agent_state = "initializing"
        self.speaking_turns = 0  # how many times the agent has finished speaking
        self.speaking_starts = 0  # how many times the agent has started speaking
        self.agent_attributes: dict[str, str] = {}
        self.last_agent_audio = 0.0
        self.greeted = asyncio.Event()  # the agent has finished its first utterance
        self.recording: list[np.ndarray] = []
        self._tasks: list[asyncio.Task] = []
        self._agent_words: list[str] = []  # the agent's final transcript segments since the caller last spoke

    def _bind_to_running_loop(self) -> None:
        """Room, audio source and events belong to the loop that runs the call."""
        self.room = rtc.Room()
        self.source = rtc.AudioSource(ROOM_RATE, 1, queue_size_ms=100)
        self._speech: asyncio.Queue[np.ndarray] = asyncio.Queue()
        self._speech_done = asyncio.Event()
        self._changed = asyncio.Event()
        self.finished = asyncio.Event()

    def _notify(self) -> None:
        self._changed.set()

    async def _until(self, predicate, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out waiting for {what} (agent state {self.agent_state})")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    # --- room events -------------------------------------------------------------------------
    def _on_attributes(self, changed: dict[str, str], participant: rtc.Participant) -> None:
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            self.agent_attributes = dict(participant.attributes)
        state = participant.attributes.get("lk.agent.state")
        if state and state != self.agent_state:
            if self.agent_state == "speaking":
                self.speaking_turns += 1
                self.greeted.set()
            if state == "speaking":
                self.speaking_starts += 1
            self.agent_state = state
        if participant.attributes.get("onboarding.status") not in (None, "in_progress"):
            self._complete(participant.attributes)
        self._notify()

    def _complete(self, attributes: dict[str, str]) -> None:
        self.result.status = attributes.get("onboarding.status")
        self.result.profile_id = int(attributes.get("onboarding.profile_id") or 0) or None
        self.result.fields = json.loads(attributes.get("onboarding.fields") or "{}")
        self.result.completed = self.result.status == "completed"
        self.finished.set()

    def _on_track(self, track: rtc.Track, _pub: rtc.RemoteTrackPublication, _p: rtc.RemoteParticipant) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            self._tasks.append(asyncio.create_task(self._listen(track)))

    async def _listen(self, track: rtc.Track) -> None:
        async for event in rtc.AudioStream.from_track(track=track, sample_rate=ROOM_RATE, num_channels=1):
            frame = event.frame
            if self.script.record_path:
                self.recording.append(np.frombuffer(frame.data, dtype=np.int16).copy())
            if rms(frame) > AGENT_AUDIO_RMS:
                self.last_agent_audio = time.monotonic()
                self._notify()

    def _on_transcription(self, reader: rtc.TextStreamReader, identity: str) -> None:
        async def read() -> None:
            text = await reader.read_all()
            if (reader.info.attributes or {}).get("lk.transcription_final") == "true" and text.strip():
                who = "caller" if identity == self.room.local_participant.identity else "agent"
                self.result.transcript.append((who, text.strip()))
                if who == "agent":
                    self._agent_words.append(text.strip())
                    self._notify()
        self._tasks.append(asyncio.create_task(read()))

    def _on_event(self, reader: rtc.TextStreamReader, _identity: str) -> None:
        async def read() -> None:
            event = json.loads(await reader.read_all())
            if event.get("type") == "complete":
                self.result.status, self.result.profile_id = event["status"], event["profile_id"]
                self.result.fields, self.result.completed = event["fields"], event["status"] == "completed"
                self.finished.set()
                self._notify()
        self._tasks.append(asyncio.create_task(read()))

    # --- microphone ----------------------------------------------------------------------------
    async def _microphone(self) -> None:
        """Send silence between answers, like an open mic; mark when each answer has been sent."""
        silence = np.zeros(FRAME, dtype=np.int16)
        while True:
            try:
                pcm = self._speech.get_nowait()
            except asyncio.QueueEmpty:
                await self.source.capture_frame(rtc.AudioFrame(silence.tobytes(), ROOM_RATE, 1, FRAME))
                continue
            for start in range(0, pcm.size, FRAME):
                chunk = pcm[start:start + FRAME]
                chunk = np.pad(chunk, (0, FRAME - chunk.size))
                await self.source.capture_frame(rtc.AudioFrame(chunk.tobytes(), ROOM_RATE, 1, FRAME))
            await self.source.wait_for_playout()
            self._speech_done.set()

    async def _say(self, pcm: np.ndarray) -> float:
        self._speech_done.clear()
        await self._speech.put(pcm)
        await self._speech_done.wait()
        return time.monotonic()

    # --- the call ------------------------------------------------------------------------------
    async def run(self, token: str | None = None, room_name: str | None = None) -> CallResult:
        self._bind_to_running_loop()
        if token is None:
            issued = issue_token(self.settings, participant_name="Sim Caller")
            token, room_name = issued.token, issued.room_name
        self.result = CallResult(room_name=room_name or "")
        self.room.on("participant_attributes_changed", self._on_attributes)
        self.room.on("track_subscribed", self._on_track)
        self.room.on("disconnected", lambda *_: (self.finished.set(), self._notify()))
        self.room.on("participant_disconnected", lambda *_: self._notify())
        self.room.register_text_stream_handler("lk.transcription", self._on_transcription)
        self.room.register_text_stream_handler("onboarding.events", self._on_event)
        await self.room.connect(self.settings.livekit_url, token)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self.source)
        await self.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        self._tasks.append(asyncio.create_task(self._microphone()))
        started = time.monotonic()
        try:
            converse = self._listen_and_answer() if self.script.listener else self._converse()
            await asyncio.wait_for(converse, self.script.timeout)
        finally:
            self.result.seconds = time.monotonic() - started
            await self.close()
        return self.result

    def _answers(self) -> Iterator[str]:
        if self.script.answer_book is None:
            yield from self.script.answers
            return
        for _ in range(self.script.max_turns):
            yield reactive_answer(self.agent_attributes, self.script.answer_book, self.script.expected)

    async def _converse(self) -> None:
        answers = self._answers()
        for index in range(10_000):
            if self.finished.is_set():
                return
            if self.script.hang_up_after is not None and index >= self.script.hang_up_after:
                return
            turns_before, starts_before = self.speaking_turns, self.speaking_starts
            barge_in = index in self.script.barge_in_at
            if barge_in:
                await self._until(lambda: self.agent_state == "speaking", "the agent to start speaking")
                starts_before = self.speaking_starts
            else:
                await self._until(lambda t=turns_before: self.speaking_turns > t or self.finished.is_set(),
                                  "the agent to finish speaking", timeout=90)
                if self.finished.is_set():
                    return
            answer = next(answers, None)  # chosen now: a reactive caller answers what was just asked
            if answer is None and await self._spoken_to_again():
                answer = next(answers, None)  # as a person would: the agent said more, so there was a question
            if answer is None:
                break
            if self.script.audio is not None and answer in self.script.audio:
                pcm = self.script.audio[answer]
            else:  # synthesis off the loop: a blocked loop would starve the other callers' microphones
                pcm = await asyncio.to_thread(answer_audio, answer, self.script.voice)
            if self.script.on_answer is not None and not answer.startswith("<"):
                self.script.on_answer(self.result.room_name, answer)
            speech_end = await self._say(pcm)
            self.result.answers_spoken += 1
            if barge_in:
                # the question spoken over may still be playing (its interruption lags the answer under load): its
                # audio is no reply, and answering the next question on its end would put the caller a turn early
                await self._until(lambda s=starts_before: self.speaking_starts > s or self.finished.is_set(),
                                  "the agent's reply to the barge-in", timeout=60)
                speech_end = max(speech_end, time.monotonic())
            if pcm.size and not answer.startswith("<"):
                await self._until(lambda end=speech_end: self.last_agent_audio > end or self.finished.is_set(),
                                  "the agent's reply", timeout=60)
                if self.last_agent_audio > speech_end:
                    self.result.latencies.append(self.last_agent_audio - speech_end)
                else:
                    self.result.unanswered.append(answer)
        if self.script.hang_up_after is None:
            await self._call_end(f"the caller stopped after {self.result.answers_spoken} answers")

    async def _spoken_to_again(self, timeout: float = 60) -> bool:
        """After what sounded like the end (nothing asked): True when the agent speaks again before the call ends."""
        seen = self.speaking_turns
        with contextlib.suppress(TimeoutError):
            await self._until(lambda: self.finished.is_set() or self.speaking_turns > seen, "the call's end", timeout)
        return not self.finished.is_set() and self.speaking_turns > seen

    async def _heard_agent(self, turns_before: int) -> str:
        """Wait for the agent to finish its turn, then for its words on the transcript; returns them."""
        await self._until(lambda: self.speaking_turns > turns_before or self.finished.is_set(),
                          "the agent to finish speaking", timeout=90)
        with contextlib.suppress(TimeoutError):  # the final transcript segment trails the audio a little
            await self._until(lambda: bool(self._agent_words) or self.finished.is_set(), "the agent's words", 5)
        words, self._agent_words = " ".join(self._agent_words), []
        return words

    async def _listen_and_answer(self) -> None:
        """Like a person on the phone: hear what the agent said, decide, speak (or type), until the call ends."""
        listener = self.script.listener
        assert listener is not None
        turns_before = 0
        for _ in range(self.script.max_turns):
            said = await self._heard_agent(turns_before)
            if self.finished.is_set():
                return
            turns_before = self.speaking_turns
            # a caller who may type also reads the widget's fields (what was understood), as on the talk page
            shown = json.loads(self.agent_attributes.get("onboarding.fields") or "{}") if listener.may_type else None
            answer = listener.reply(said, shown)
            if answer is None:
                break
            if isinstance(answer, Typed):
                try:
                    reply = await self.room.local_participant.perform_rpc(
                        destination_identity=self._agent_identity(), method="onboarding.correct",
                        payload=json.dumps({"field": answer.field, "value": answer.value}))
                except rtc.RpcError as exc:
                    reply = f"refused: {exc.message}"
                self.result.typed.append((answer.field, reply))
                continue
            pcm = await asyncio.to_thread(caller_voice, answer, self.script.voice)
            if self.script.on_answer is not None:  # script ears (a cloud STT fake) hear what is said
                self.script.on_answer(self.result.room_name, answer)
            await self._say(pcm)
            self.result.answers_spoken += 1
            if self.agent_state != "speaking":
                # an agent turn begun and dropped while we still talked (it replied to half an answer) went unheard,
                # as on a phone: listen for the reply to the whole answer, not for the abandoned one
                turns_before, self._agent_words = self.speaking_turns, []
        await self._call_end(f"the caller stopped after {self.result.answers_spoken} answers")

    async def _call_end(self, why: str, timeout: float = 90) -> None:
        """Wait for the agent to end the call; a call that never ends fails with what the caller last saw."""
        try:
            await asyncio.wait_for(self.finished.wait(), timeout)
        except TimeoutError:
            progress = {k: v for k, v in self.agent_attributes.items() if k != "onboarding.fields"}
            raise TimeoutError(f"{why} and the call did not end within {timeout:.0f} s; agent {self.agent_state}, "
                               f"{progress}; last words {self.result.transcript[-4:]}") from None

    def _agent_identity(self) -> str:
        return next(p.identity for p in self.room.remote_participants.values()
                    if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.script.record_path and self.recording:
            write_wav(self.script.record_path, np.concatenate(self.recording))
        await self.room.disconnect()


def caller_voice(text: str, voice: str) -> np.ndarray:
    """A caller's answer in `voice`: "piper" (Piper joe, the agent's own voice package) or a flite voice."""
    if voice != "piper":
        return answer_audio(text, voice)
    from onboarding.providers.local_tts import default_piper_voice, load_piper, piper_sentences

    piper = load_piper(str(default_piper_voice()))
    parts = [np.frombuffer(pcm, dtype=np.int16) for pcm in piper_sentences(piper, text)]
    return resample(np.concatenate(parts), piper.config.sample_rate) if parts else np.zeros(0, dtype=np.int16)


async def call(settings: Settings, script: CallScript) -> CallResult:
    return await SimCaller(settings, script).run()


def summarise(result: CallResult, settings: Settings) -> str:
    lines = [f"room {result.room_name}: status {result.status}, profile {result.profile_id}"]
    lines += [f"  {who:>6}: {text}" for who, text in result.transcript]
    if result.profile_id:
        from models import Profile
        from onboarding.db import session_scope

        with session_scope(settings.database_url) as db:
            profile = db.get(Profile, result.profile_id)
            if profile is not None:
                lines.append("stored profile: " + json.dumps(profile.answers, default=str))
    if result.latencies:
        ms = sorted(x * 1000 for x in result.latencies)
        lines.append("voice-to-voice latency ms per turn: " + ", ".join(f"{x * 1000:.0f}" for x in result.latencies))
        lines.append(f"p50 {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("answers", nargs="*", help="answers in order: text, a .wav path, <silence> or <noise>")
    parser.add_argument("--voice", default="slt", choices=["slt", "awb", "rms"])
    parser.add_argument("--hang-up-after", type=int)
    parser.add_argument("--barge-in", type=int, action="append", default=[],
                        help="answer index (0-based) to speak over the agent")
    parser.add_argument("--record", type=Path, help="write the agent's audio to this WAV file")
    args = parser.parse_args(argv)
    answers = args.answers or DEMO_ANSWERS
    settings = get_settings()
    script = CallScript(answers=answers, voice=args.voice, hang_up_after=args.hang_up_after,
                        barge_in_at=set(args.barge_in), record_path=args.record)
    result = asyncio.run(call(settings, script))
    sys.stdout.write(summarise(result, settings) + "\n")
    sys.exit(0 if result.completed or args.hang_up_after else 1)


DEMO_ANSWERS = [
    "My name is Maria Garcia.", "Yes.", "maria dot garcia at example dot com", "Yes, that's right.",
    "I work at Acme Corp.", "I'm a product manager.", "About twenty people.",
    "We want to onboard new customers faster.", "No thanks.", "Skip.",
]

if __name__ == "__main__":
    main()
