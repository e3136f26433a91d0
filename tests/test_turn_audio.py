"""Every turn's audio: Opus/OGG clips cut from the session's real audio frames, kept in the store under the call's
day, referenced from the Turn, deleted with the profile (after its transaction commits) and after the retention.

The capture is driven with real livekit rtc.AudioFrames through a real Agent's STT and TTS nodes, as the session
calls them; the recorder and the database are the real ones.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import Agent, ModelSettings, llm
from sqlmodel import select

from harness.caller_audio import tone
from harness.seed_calls import MARIA, talk
from models import CallSession, Turn
from onboarding.admin.profiles import delete_profile
from onboarding.audio.capture import AudioRing, CallAudio
from onboarding.audio.opus import CLIP_RATE, decoded_seconds, encode_opus
from onboarding.audio.retention import expire_audio
from onboarding.audio.storage import LocalAudioStore, clip_key, use_store, valid_key
from onboarding.db import session_scope
from onboarding.interview import load_definition
from onboarding.recorder import CallRecorder
from onboarding.settings import Settings

DEFINITION = load_definition()
RATE = 48_000


def frames(pcm: np.ndarray, rate: int = RATE, ms: int = 10) -> list[rtc.AudioFrame]:
    step = rate * ms // 1000
    return [rtc.AudioFrame(pcm[i:i + step].tobytes(), rate, 1, len(pcm[i:i + step])) for i in range(0, pcm.size, step)]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audio.db'}"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=db_url, audio_storage_path=tmp_path / "audio")


def test_opus_clip_is_small_and_as_long_as_its_audio() -> None:
    for rate in (48_000, 22_050, 16_000):
        pcm = tone(2.5, rate)
        clip = encode_opus(pcm, rate)
        assert clip.data[:4] == b"OggS" and b"OpusHead" in clip.data[:100]
        assert clip.seconds == pytest.approx(2.5, abs=1e-6)
        assert decoded_seconds(clip.data) == pytest.approx(2.5, abs=0.03)
        assert len(clip.data) < 2.5 * 24_000 / 8 * 1.3  # ≈ 24 kbit/s, not 768 kbit/s of PCM
    assert CLIP_RATE == 24_000


def test_store_keeps_clips_by_day_and_refuses_other_keys(tmp_path: Path) -> None:
    store = LocalAudioStore(tmp_path)
    day = datetime(2026, 3, 9, 23, 59, tzinfo=UTC)
    keys = [clip_key(day, 7, 41, "user"), clip_key(day, 7, 42, "agent"), clip_key(day + timedelta(days=2), 9, 1,
                                                                                  "user")]
    assert keys[0] == "2026/03/09/7/41-user.ogg"
    for key in keys:
        store.put(key, b"OggS" + key.encode())
    assert store.read(keys[1]) == b"OggS" + keys[1].encode() and store.local_path(keys[0]).is_file()
    assert store.days() == [date(2026, 3, 9), date(2026, 3, 11)]
    assert not list(tmp_path.rglob(".part-*"))  # written whole, via a temporary file
    for bad in ("../etc/passwd", "2026/03/09/7/41-user.wav", "/abs/2026/03/09/7/1-user.ogg", "2026/3/9/7/1-user.ogg"):
        assert not valid_key(bad)
        with pytest.raises(ValueError):
            store.put(bad, b"x")
    assert store.delete([keys[0], keys[0]]) == 1 and store.local_path(keys[0]) is None
    assert store.delete_day(date(2026, 3, 9)) == 1
    assert store.days() == [date(2026, 3, 11)] and not (tmp_path / "2026" / "03" / "09").exists()


def test_ring_cuts_exactly_the_asked_span() -> None:
    ring = AudioRing(seconds=5)
    start = 1000.0
    for n, frame in enumerate(frames(tone(8.0))):
        ring.push(start + n * 0.01, frame)
    assert ring.cut(start, start + 1) is None  # older than the ring keeps
    pcm, rate = ring.cut(start + 4.0, start + 6.5)
    assert rate == RATE and pcm.size == int(2.5 * RATE)
    assert ring.cut(start + 20, start + 21) is None


class ScriptedNodes(Agent):
    """An agent whose own STT and TTS nodes stand in for the models: the STT consumes what it hears, the TTS
    "synthesises" the given frames (as a subclass overriding the nodes would)."""

    def __init__(self, spoken: list[rtc.AudioFrame]) -> None:
        super().__init__(instructions="test")
        self.spoken, self.heard = spoken, 0

    async def stt_node(self, audio, model_settings):
        async for frame in audio:
            self.heard += frame.samples_per_channel
        return
        yield

    async def tts_node(self, text, model_settings):
        async for _ in text:
            pass
        for frame in self.spoken:
            yield frame


async def _lines(*texts: str):
    for text in texts:
        yield text


async def _frames(items: list[rtc.AudioFrame]):
    for frame in items:
        yield frame


async def drain(stream) -> int:
    count = 0
    async for _ in stream:
        count += 1
    return count


async def test_each_turn_gets_one_clip_of_what_was_heard_and_what_played(settings: Settings) -> None:
    recorder = CallRecorder(settings.database_url, room_name="onboarding-audio1")
    audio = CallAudio(settings, recorder)
    agent = ScriptedNodes(frames(tone(1.5, 22_050, 440), rate=22_050))
    audio.instrument(agent)
    began = time.time()
    await drain(agent.stt_node(_frames(frames(tone(3.0))), ModelSettings()))  # the session feeds the STT node
    assert agent.heard == 3 * RATE  # the agent's own node still got every frame
    played = await drain(agent.tts_node(_lines("I heard Maria Garcia.", " Is that right?"), ModelSettings()))
    assert played == len(agent.spoken)  # and the room every synthesised frame

    user_turn = recorder.add_turn("user", "my name is maria garcia")
    said = llm.ChatMessage(role="user", content=["my name is maria garcia"])
    # the 3 s arrived in one burst here: the ring lays them end to end from the first one's arrival
    said.metrics = {"started_speaking_at": began, "stopped_speaking_at": began + 3.0}
    audio.turn_stored(user_turn, said)
    audio.turn_stored(user_turn, said)  # the same turn twice: still one clip
    agent_turn = recorder.add_turn("agent", "I heard Maria Garcia. Is that right?")
    reply = llm.ChatMessage(role="assistant", content=["I heard Maria Garcia. Is that right?"])
    reply.metrics = {"started_speaking_at": time.time(), "stopped_speaking_at": time.time() + 1.6}
    audio.turn_stored(agent_turn, reply)
    await audio.aclose()
    assert recorder.flush()  # the clips' keys are written by the recorder's writer thread, after their turns

    with session_scope(settings.database_url) as db:  # add_turn answers the turn's number in the call
        stored = {t.index: t for t in db.exec(select(Turn).where(Turn.session_id == recorder.session_id))}
    store = LocalAudioStore(settings.audio_storage_path)
    user, spoken = stored[user_turn], stored[agent_turn]
    assert user.audio_key == clip_key(recorder.started_at, recorder.call_key, user_turn, "user")
    assert spoken.audio_key.endswith(f"/{agent_turn}-agent.ogg")
    assert decoded_seconds(store.read(user.audio_key)) == pytest.approx(user.audio_seconds, abs=0.03)
    assert user.audio_seconds == pytest.approx(3.0, abs=0.05)  # the whole utterance, padded by what exists
    assert spoken.audio_seconds == pytest.approx(1.5, abs=0.02)  # all of it played
    assert len(list(settings.audio_storage_path.rglob("*.ogg"))) == 2


async def test_the_greeting_and_an_interrupted_reply_keep_what_played(settings: Settings) -> None:
    recorder = CallRecorder(settings.database_url, room_name="onboarding-audio2")
    audio = CallAudio(settings, recorder)
    agent = ScriptedNodes(frames(tone(2.0)))
    audio.instrument(agent)
    turns = []
    for interrupted_after in (None, 0.8):  # the greeting plays whole; the next reply is cut after 0.8 s
        await drain(agent.tts_node(_lines("What's the best email address?"), ModelSettings()))
        turn = recorder.add_turn("agent", "What's the best email", interrupted=interrupted_after is not None)
        message = llm.ChatMessage(role="assistant", content=["What's the best email"])
        start = time.time()
        message.metrics = {"started_speaking_at": start, "stopped_speaking_at": start + (interrupted_after or 2.0)}
        audio.turn_stored(turn, message)
        turns.append(turn)
    await audio.aclose()
    assert recorder.flush()
    with session_scope(settings.database_url) as db:
        by_number = {t.index: t for t in db.exec(select(Turn).where(Turn.session_id == recorder.session_id))}
        seconds = [by_number[turn].audio_seconds for turn in turns]
    assert seconds == [pytest.approx(2.0, abs=0.011), pytest.approx(0.8, abs=0.011)]


async def test_no_clip_is_kept_when_audio_capture_is_off(settings: Settings) -> None:
    off = settings.model_copy(update={"audio_capture": False})
    recorder = CallRecorder(off.database_url, room_name="onboarding-audio3")
    audio = CallAudio(off, recorder)
    agent = ScriptedNodes(frames(tone(1.0)))
    audio.instrument(agent)
    assert agent.tts_node.__func__ is ScriptedNodes.tts_node  # not wrapped at all
    turn = recorder.add_turn("agent", "hello")
    audio.turn_stored(turn, llm.ChatMessage(role="assistant", content=["hello"]))
    await audio.aclose()
    assert not off.audio_storage_path.exists()


def _clip_every_turn(settings: Settings, session_id: int, started: datetime) -> list[str]:
    store = LocalAudioStore(settings.audio_storage_path)
    keys = []
    with session_scope(settings.database_url) as db:
        for turn in db.exec(select(Turn).where(Turn.session_id == session_id)):
            key = clip_key(started, session_id, turn.id, turn.role)
            store.put(key, encode_opus(tone(0.2), RATE).data)
            turn.audio_key, turn.audio_seconds = key, 0.2
            db.add(turn)
            keys.append(key)
    return keys


def test_deleting_a_profile_deletes_its_audio_once_the_deletion_commits(settings: Settings) -> None:
    use_store(LocalAudioStore(settings.audio_storage_path))
    try:
        kept, gone = (talk(settings.database_url, DEFINITION, MARIA[:4]) for _ in range(2))
        kept_keys = _clip_every_turn(settings, kept.session_id, kept.recorder.started_at)
        gone_keys = _clip_every_turn(settings, gone.session_id, gone.recorder.started_at)
        store = LocalAudioStore(settings.audio_storage_path)
        assert delete_profile(settings.database_url, gone.profile_id)
        assert all(store.local_path(k) is None for k in gone_keys)
        assert all(store.local_path(k) is not None for k in kept_keys)
    finally:
        use_store(None)


def test_retention_deletes_old_days_and_forgets_their_keys(settings: Settings) -> None:
    store = LocalAudioStore(settings.audio_storage_path)
    old, new = (talk(settings.database_url, DEFINITION, MARIA[:2]) for _ in range(2))
    today = datetime.now(UTC).date()
    long_ago = datetime.now(UTC) - timedelta(days=40)
    with session_scope(settings.database_url) as db:  # the first call took place 40 days ago
        call = db.get(CallSession, old.session_id)
        call.started_at = long_ago
        db.add(call)
    old_keys = _clip_every_turn(settings, old.session_id, long_ago)
    new_keys = _clip_every_turn(settings, new.session_id, new.recorder.started_at)
    assert expire_audio(settings.database_url, store, 0, today) == 0  # 0 days: keep everything
    assert expire_audio(settings.database_url, store, 30, today) == len(old_keys)
    assert all(store.local_path(k) is None for k in old_keys) and all(store.local_path(k) for k in new_keys)
    with session_scope(settings.database_url) as db:
        old_turns = db.exec(select(Turn).where(Turn.session_id == old.session_id)).all()
        new_turns = db.exec(select(Turn).where(Turn.session_id == new.session_id)).all()
    assert all(t.audio_key is None and t.text for t in old_turns)  # the transcript stays
    assert all(t.audio_key for t in new_turns)
