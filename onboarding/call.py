"""One onboarding call in a LiveKit room: wires the session, the interviewer and the recorder.

Every turn is stored when it is said; fields are stored with the turn they came from; the call
ends itself when the interview is done, re-prompts a silent caller, and records why it ended.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from livekit import rtc
from livekit.agents import Agent, AgentSession, JobContext, llm
from livekit.agents.voice import room_io
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    CloseEvent,
    CloseReason,
    ConversationItemAddedEvent,
    SessionUsageUpdatedEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)

from onboarding.audio.capture import CallAudio
from onboarding.interview import InterviewDefinition, InterviewState, Outcome, Reply
from onboarding.providers.selection import SpeechStack, build_interviewer, turn_detector
from onboarding.recorder import CallerTurn, CallRecorder, StoredProfile, Usage
from onboarding.settings import Settings
from onboarding.silence import SilenceWatch
from onboarding.turn_tags import asked_field, definition_hash
from onboarding.turn_taking import endpointing_for

log = logging.getLogger("onboarding.call")
EVENTS_TOPIC = "onboarding.events"
CORRECT_METHOD = "onboarding.correct"  # RPC from the caller: {"field", "value"} typed in the widget
SHUTDOWN_WRITE_SECONDS = 3.0  # of the job's shutdown deadline (livekit-agents: 10 s) spent waiting on the database
STORED_PROFILE_WAIT_SECONDS = 3.0  # the caller hears the goodbye meanwhile; past it, they are told what was heard


def usage_totals(model_usage: list[Any]) -> Usage:
    totals = Usage(detail=[u.model_dump() for u in model_usage])
    for u in model_usage:
        if u.type == "stt_usage":
            totals.stt_audio_seconds += u.audio_duration
        elif u.type == "tts_usage":
            totals.tts_characters += u.characters_count
        elif u.type == "llm_usage":
            totals.llm_input_tokens += u.input_tokens
            totals.llm_output_tokens += u.output_tokens
    return totals


class InterviewCall:
    def __init__(self, ctx: JobContext, settings: Settings, stack: SpeechStack,
                 definition: InterviewDefinition, agent: Agent) -> None:
        self.ctx, self.settings, self.stack, self.agent = ctx, settings, stack, agent
        self.state = InterviewState(definition)
        # Gemini when GOOGLE_API_KEY is set (scripted behind it), else scripted; both drive self.state
        self.interviewer = build_interviewer(settings, self.state, self._on_reply, stack.monitor)
        if stack.local_stt is not None:  # Whisper's other readings of each utterance, for the interview
            self.state.hearing = stack.local_stt.readings
        self._caller_identity = ""
        self.recorder: CallRecorder | None = None
        self.audio: CallAudio | None = None  # each turn's clip (onboarding.audio)
        self.session: AgentSession | None = None
        self._outcome: Outcome | None = None  # set when the interview (or the silence watchdog) ends the call
        self._silence_timer: asyncio.TimerHandle | None = None
        self._silence = SilenceWatch()  # a caller's words on their way to a turn are no silence
        self._closed = False  # the session closed or the worker is shutting down: no more re-prompts
        self._silent_reprompts = 0
        self._answers = 0
        self._usage: list[Any] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._endpointing: dict[str, float] = {}  # the end-of-turn delays the session runs with now
        self._heard = ""  # the caller's words since the interviewer last spoke (final transcripts)

    @property
    def log_extra(self) -> dict[str, Any]:
        return {"room": self.ctx.room.name, "session_id": self.recorder.session_id if self.recorder else None}

    async def start(self) -> None:
        ctx = self.ctx
        await ctx.connect()
        participant = await asyncio.wait_for(ctx.wait_for_participant(), self.settings.agent_join_timeout_seconds)
        user_id = participant.attributes.get("onboarding.user_id") or ctx.job.metadata or None
        # never blocks: the call starts even while the database is down (its writes wait in the spool)
        self.recorder = CallRecorder(
            self.settings.database_url, room_name=ctx.room.name,
            participant_identity=participant.identity, user_id=user_id,
            providers={**self.stack.labels, "llm": self.interviewer.label}, worker_id=ctx.worker_id,
            definition_hash=definition_hash(self.state.definition),
            origin=participant.attributes.get("onboarding.origin") or None,
        )
        self.audio = CallAudio(self.settings, self.recorder)
        self.audio.instrument(self.agent)  # its STT and TTS nodes keep each turn's audio (before the greeting)
        self.stack.attach(self.recorder.record_fallbacks, ctx.room.name)  # the recorder stores fallbacks
        self._caller_identity = participant.identity
        ctx.room.local_participant.register_rpc_method(CORRECT_METHOD, self._on_typed_correction)
        ctx.add_shutdown_callback(self._on_shutdown)  # the last clips, then every write made durable
        video = self.interviewer.video_options()  # Gemini keeps the latest frame; offline, none is subscribed
        session = AgentSession(
            stt=self.stack.stt, vad=self.stack.vad, llm=self.interviewer, tts=self.stack.tts,
            turn_handling={
                "turn_detection": turn_detector(),
                "endpointing": dict(self._apply_end_of_turn()),
                "interruption": {"enabled": True, "mode": "vad"},
                # the scripted interviewer is stateful: generate only for a committed turn
                "preemptive_generation": {"enabled": False},
            },
            user_away_timeout=None,  # our own silence watchdog re-prompts, repeatedly
            video_sampler=video["video_sampler"],
        )
        self.session = session
        session.on("conversation_item_added", self._on_item)
        session.on("agent_state_changed", self._on_agent_state)
        session.on("user_state_changed", self._on_user_state)
        session.on("session_usage_updated", self._on_usage)
        session.on("user_input_transcribed", self._on_transcribed)
        session.on("close", self._on_close)
        await self.interviewer.prepare(self.agent)  # Gemini: instructions and tools from the definition
        await session.start(
            self.agent, room=ctx.room, record=False, room_options=self._room_options(participant, video),
            session_host=False,  # the SessionHost data channel serves livekit's remote session tools: unused here
        )
        await self._publish_progress("in_progress")

    def _room_options(self, participant: rtc.RemoteParticipant, video: dict[str, Any]) -> room_io.RoomOptions:
        """Less work per audio frame (docs/density.md): the caller's audio arrives at 16 kHz, the rate the VAD,
        the end-of-turn model and the STTs use (one resampler, in the native stream); no automatic gain control
        unless AUTO_GAIN_CONTROL; captions are sent as soon as known, not paced word by word with the audio;
        the agent's track is published at its TTS's rate."""
        return room_io.RoomOptions(
            participant_identity=participant.identity, video_input=video["video_input"],
            audio_input=room_io.AudioInputOptions(sample_rate=16000,
                                                  auto_gain_control=self.settings.auto_gain_control),
            audio_output=room_io.AudioOutputOptions(sample_rate=self.stack.tts.sample_rate),
            text_output=room_io.TextOutputOptions(sync_transcription=False),
        )

    # --- end of turn ------------------------------------------------------------------------
    def _awaited_endpointing(self) -> dict[str, float]:
        return endpointing_for(self.state, self.settings.endpointing_min_delay, self.settings.endpointing_max_delay,
                               self._heard)

    def _on_transcribed(self, ev: UserInputTranscribedEvent) -> None:
        """Words as they are heard: set before the end-of-turn decision reads the delays (livekit-agents emits this
        event before it runs end-of-turn detection on the same transcript)."""
        self._silence.heard(ev.transcript)  # words not yet a caller turn: the caller is not silent
        if ev.is_final and ev.transcript.strip():
            self._heard = f"{self._heard} {ev.transcript.strip()}".strip()
            self._apply_end_of_turn()

    def _apply_end_of_turn(self) -> dict[str, float]:
        """The end-of-turn delays of what the interview now awaits (a field, a read-back), set on the session."""
        wanted = self._awaited_endpointing()
        if self.session is not None and wanted != self._endpointing:
            self.session.update_options(endpointing_opts=wanted)
        self._endpointing = wanted
        return wanted

    # --- interviewer and session events -------------------------------------------------
    def _on_reply(self, message: llm.ChatMessage | None, reply: Reply) -> None:
        assert self.recorder is not None
        caller = None
        self._silence.replied(caller_waiting=reply.waiting)
        if message is not None:
            self._answers += 1
            self._silent_reprompts = 0
            caller = CallerTurn(message.text_content or "", self.interviewer.user_turns, message_id=message.id)
        self.recorder.record_reply(reply, flagged=self.state.flagged, caller=caller)
        if reply.done:
            self._outcome = self.state.outcome()
        self._heard = ""  # a new question: what the caller says next is a new answer
        self._apply_end_of_turn()
        self._listen_for_next_answer()
        self._spawn(self._publish_progress("in_progress"))

    def _listen_for_next_answer(self) -> None:
        """Prime the local STT with the vocabulary of the question just asked (cloud STTs ignore it)."""
        hearing = self.state.next_hearing
        self.stack.prime_stt(hearing.prompts, hearing.enough)

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if item.type != "message" or item.role not in ("user", "assistant") or self.recorder is None:
            return
        role = "user" if item.role == "user" else "agent"
        if role == "user":
            self._silence.committed()
        turn = self.recorder.add_turn(role, item.text_content or "", message_id=item.id,
                                      interrupted=item.interrupted, metrics=dict(item.metrics or {}))
        if self.audio is not None:
            self.audio.turn_stored(turn, item)
        if role == "agent":  # the field this reply asks for: the funnel's per-question steps (queued, in order)
            self.recorder.annotate_turn(turn, **asked_field(self.state))

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        self._cancel_silence_timer()
        if ev.new_state != "listening":
            return
        if self._outcome is not None:
            self._spawn(self._end_call())
        else:
            self._arm_silence_timer()

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        self._cancel_silence_timer()
        if ev.new_state == "speaking" and self.session is not None:  # a "yes" said over a read-back is no answer
            self.state.heard_over_agent = self.session.agent_state == "speaking"
        # sound that gave no words (noise, a cough) leaves the agent listening: keep counting silence
        if ev.new_state == "listening" and self.session is not None and self.session.agent_state == "listening":
            self._arm_silence_timer()

    def _on_usage(self, ev: SessionUsageUpdatedEvent) -> None:
        self._usage = list(ev.usage.model_usage)
        if self.recorder is not None:  # written with the heartbeats: a worker that dies still counts it
            self.recorder.note_usage(usage_totals(self._usage))

    def _on_close(self, ev: CloseEvent) -> None:
        self._closed = True
        self._cancel_silence_timer()  # a re-prompt after the session closed would only log errors
        if self.recorder is None or self.recorder.closed:
            return
        if ev.error is not None:
            outcome = Outcome("failed", f"{type(ev.error).__name__}: {ev.error}")
        elif self._outcome is not None:
            outcome = self._outcome
        elif ev.reason == CloseReason.PARTICIPANT_DISCONNECTED:
            outcome = Outcome("abandoned", f"caller left after {self._answers} answers")
            self._spawn(self._close_room())  # an empty room would hold this worker's job slot ~20 s more
        else:  # the job is shutting down (worker stopped, room deleted) with the caller still there
            outcome = Outcome("abandoned", f"call closed by the worker after {self._answers} answers ({ev.reason})")
        self._finish(outcome)

    async def _close_room(self) -> None:
        try:
            await self.ctx.delete_room()
        except Exception:
            log.warning("could not delete room", extra=self.log_extra)

    async def _on_shutdown(self) -> None:
        self._closed = True
        self._cancel_silence_timer()
        if self.recorder is None:
            return
        if self.audio is not None:  # shutdown callbacks run concurrently: the clips' writes must come first
            await self.audio.aclose()
        if not self.recorder.closed:
            self._finish(Outcome("abandoned", "worker shut down during the call"))
        # the job (maybe its process) ends now: every write on disk at once, into the database if it answers in
        # time; what it does not take is replayed from the spool by this worker, or the next process to start
        if not await asyncio.to_thread(self.recorder.make_durable, SHUTDOWN_WRITE_SECONDS):
            log.warning("call writes left in the spool at shutdown", extra=self.log_extra)

    # --- typed corrections (the widget's fields, over RPC) ----------------------------------
    async def _on_typed_correction(self, data: rtc.RpcInvocationData) -> str:
        """The caller typed a field's value: only the call's own caller (LiveKit authenticated the identity), the
        interview's normaliser and validation, stored with source "typed"; the agent says so."""
        if data.caller_identity != self._caller_identity:
            raise rtc.RpcError(rtc.RpcError.ErrorCode.APPLICATION_ERROR, "only the caller can correct this profile")
        try:
            request = json.loads(data.payload or "{}")
            reply = self.state.typed(str(request.get("field", "")), str(request.get("value", "")), -1)
        except (ValueError, AttributeError) as exc:  # JSONDecodeError is a ValueError; AttributeError: not an object
            raise rtc.RpcError(rtc.RpcError.ErrorCode.APPLICATION_ERROR, str(exc)) from None
        assert self.recorder is not None
        self.recorder.record_reply(reply, flagged=self.state.flagged)
        self._heard = ""  # what the agent asks now is a new question
        self._apply_end_of_turn()
        self._listen_for_next_answer()
        await self._publish_progress("in_progress")
        if self.session is not None:
            self.session.interrupt()
            self.session.say(reply.text)
        if reply.done:
            self._outcome = self.state.outcome()
        update = reply.updates[0]
        return json.dumps({"field": update.field, "value": update.value, "said": reply.text})

    # --- silence --------------------------------------------------------------------------
    def _arm_silence_timer(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.settings
        quiet = self._silence.window(settings.reprompt_after_silence_seconds, settings.wait_for_caller_seconds)
        self._silence_timer = loop.call_later(quiet, self._on_silence)

    def _cancel_silence_timer(self) -> None:
        if self._silence_timer is not None:
            self._silence_timer.cancel()
            self._silence_timer = None

    def _on_silence(self) -> None:
        self._silence_timer = None
        if self.session is None or self._outcome is not None or self._closed:
            return
        speaking = self.session.user_state == "speaking"
        if self._silence.hold(caller_speaking=speaking, transcribing=self.stack.transcribing()):
            log.info("caller speaking or words still on their way, not re-prompting yet", extra=self.log_extra)
            self._arm_silence_timer()
            return
        self._silence.reprompted()
        self._silent_reprompts += 1
        log.info("caller silent, re-prompting", extra={**self.log_extra, "count": self._silent_reprompts})
        if self._silent_reprompts > self.settings.max_silent_reprompts:
            self._outcome = Outcome("abandoned", "caller stayed silent")
            self.session.say("I can't hear you, so I'll end the call here. You can call back any time. Goodbye.")
        else:
            self.session.generate_reply()  # no new caller message: the interviewer re-prompts

    # --- ending ----------------------------------------------------------------------------
    def _finish(self, outcome: Outcome) -> None:
        assert self.recorder is not None
        usage = usage_totals(self._usage or (self.session.usage.model_usage if self.session else []))
        self.stack.finish()  # billed cloud STT connection time, through the recorder
        required = [spec.name for spec in self.state.definition.fields if spec.required]
        self.recorder.close(outcome, usage, required=required)

    async def _end_call(self) -> None:
        """After the goodbye has played: store the outcome, tell the caller what was stored, close the room."""
        if self.recorder is None or self.recorder.closed or self._outcome is None:
            return
        self._finish(self._outcome)
        stored = await asyncio.to_thread(self.recorder.stored_profile, STORED_PROFILE_WAIT_SECONDS)
        await self._publish_progress(self._outcome.status, stored)
        if self.session is not None:
            self.session.shutdown()
        try:
            await self.ctx.delete_room()
        except Exception:
            log.warning("could not delete room", extra=self.log_extra)

    async def _publish_progress(self, status: str, stored: StoredProfile | None = None) -> None:
        """Fields so far as participant attributes, and an event on a text stream for clients. At the end, the
        profile as stored (`stored`), or as heard if the database did not answer in time."""
        assert self.recorder is not None
        fields = dict(stored.fields) if stored is not None else dict(self.state.values)
        completed = stored.completed if stored is not None else False
        asking = self.state.current.name if self.state.current and not self.state.finished else ""
        if self.state.asking_to_stop:
            asking = "end_call"
        attributes = {
            "onboarding.status": status,
            "onboarding.asking": asking,  # the field the agent is asking for now ("" when done)
            "onboarding.confirming": self.state.pending_confirmation or "",  # a read-back awaiting yes/no
            "onboarding.confirming_value": json.dumps(self.state.pending_value),
            "onboarding.spelling": self.state.awaiting_spelling or "",  # the field the caller was asked to spell
            "onboarding.profile_id": str(self.recorder.profile_id or ""),  # "" until the call's row is stored
            "onboarding.session_id": str(self.recorder.session_id or ""),
            "onboarding.fields": json.dumps(fields),
            "onboarding.profile_complete": json.dumps(completed),  # as stored; false until the end
        }
        event = {"type": "complete" if status != "in_progress" else "progress", "status": status,
                 "profile_id": self.recorder.profile_id, "fields": fields, "profile_complete": completed,
                 "stored": stored is not None}
        try:
            await self.ctx.room.local_participant.set_attributes(attributes)
            await self.ctx.room.local_participant.send_text(json.dumps(event), topic=EVENTS_TOPIC)
        except (rtc.RpcError, RuntimeError, ConnectionError) as exc:
            log.warning("could not publish progress: %s", exc, extra=self.log_extra)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
