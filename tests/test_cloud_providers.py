"""Cloud providers against local fakes that speak the real wire protocols: contract tests with the official
plugins, provider selection and labels, the start-up key check, sticky fallback with its recorded reason,
metering, and one spoken call through Deepgram + ElevenLabs fakes."""



from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

import aiohttp
import numpy as np
import pytest
from livekit import rtc
from livekit.agents import APIConnectOptions, APIStatusError, stt
from livekit.plugins import deepgram, elevenlabs
from pydantic import ValidationError

from harness.caller_audio import ROOM_RATE, speak
from harness.fakes.audio import hear
from harness.fakes.deepgram import FakeDeepgram
from harness.fakes.elevenlabs import FakeElevenLabs
from harness.fakes.settings import DEEPGRAM_KEY, cloud_env, cloud_settings
from harness.personas import PERSONAS, ListeningCaller
from harness.simcaller import CallScript, SimCaller
from harness.testbed import settled_call, stack_settings, start_worker, worker_exit
from models import CallSession
from onboarding.db import session_scope
from onboarding.providers import cloud
from onboarding.providers.fallback import StickySTTFallback, StickyTTSFallback
from onboarding.providers.local_tts import LocalTTS
from onboarding.providers.selection import build_speech_stack
from onboarding.providers.whisper_stt import WhisperSTT
from onboarding.recorder import CallRecorder
from onboarding.settings import Settings

NO_RETRY = APIConnectOptions(max_retry=0, timeout=5)
BASE = Settings(_env_file=None)


def frames_of(pcm: np.ndarray, rate: int = ROOM_RATE) -> list[rtc.AudioFrame]:
    step = rate // 100
    return [rtc.AudioFrame(pcm[i:i + step].tobytes(), rate, 1, step) for i in range(0, pcm.size - step + 1, step)]


def utterances(*texts: str, pause: float = 1.5) -> np.ndarray:
    """Answers, each followed by enough quiet for the fake (and the VAD) to call it an endpoint."""
    silence = np.zeros(int(pause * ROOM_RATE), dtype=np.int16)
    return np.concatenate([silence[: ROOM_RATE // 10], *(np.concatenate([speak(t), silence]) for t in texts)])


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def finals(events: list[stt.SpeechEvent]) -> list[str]:
    return [e.alternatives[0].text for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT
            and e.alternatives[0].text]


# --- contracts: the official plugins against the fakes ---------------------------------------------------
async def test_deepgram_plugin_streams_interim_and_final_results(fake_deepgram: FakeDeepgram, http) -> None:
    dg = deepgram.STT(api_key=DEEPGRAM_KEY, base_url=fake_deepgram.base_url, http_session=http)
    events = await hear(dg.stream(), utterances("My name is Maria Garcia. I work at Acme Corp."))
    kinds = [e.type for e in events]
    assert kinds.index(stt.SpeechEventType.START_OF_SPEECH) < kinds.index(stt.SpeechEventType.FINAL_TRANSCRIPT)
    assert stt.SpeechEventType.INTERIM_TRANSCRIPT in kinds  # interim results were asked for and served
    assert stt.SpeechEventType.END_OF_SPEECH in kinds  # speech_final at the endpoint
    assert "maria garcia" in finals(events)[0].lower()
    query = fake_deepgram.requests[0]
    assert (query["model"], query["encoding"], query["sample_rate"], query["interim_results"]) == \
        ("nova-3", "linear16", "16000", "true")
    billed = sum(e.recognition_usage.audio_duration for e in events
                 if e.type == stt.SpeechEventType.RECOGNITION_USAGE)
    assert billed >= fake_deepgram.served.audio_seconds_in > 2  # connection time, at least the audio sent


async def test_deepgram_script_ears_hear_what_was_announced(fake_deepgram: FakeDeepgram, http) -> None:
    """A stream whose caller announced its words hears those, even on the Whisper-eared fake the spoken tests share:
    Whisper mishearing the fake's input ('ECME Corp') must not fail a test of the worker."""
    fake_deepgram.expect("room-a", "I work at Acme Corp.")
    dg = deepgram.STT(api_key=DEEPGRAM_KEY, base_url=fake_deepgram.base_url, http_session=http, tags=["room-a"])
    events = await hear(dg.stream(), utterances("I work at Ecme Corporation.", "Something unannounced."))
    assert finals(events) == ["I work at Acme Corp."]  # the announced text; the unannounced utterance hears nothing


async def test_deepgram_wrong_key_is_refused_at_the_handshake(fake_deepgram: FakeDeepgram, http) -> None:
    dg = deepgram.STT(api_key="wrong", base_url=fake_deepgram.base_url, http_session=http)
    stream = dg.stream(conn_options=NO_RETRY)
    stream.end_input()
    with pytest.raises(APIStatusError) as err:
        async for _ in stream:
            pass
    assert err.value.status_code == 401 and not err.value.retryable
    assert fake_deepgram.served.rejected == 1 and fake_deepgram.served.connections == 0


async def test_deepgram_control_messages(fake_deepgram: FakeDeepgram, http) -> None:
    """KeepAlive is accepted, Finalize flushes a final `from_finalize`, CloseStream ends with Metadata."""
    url = fake_deepgram.base_url.replace("http", "ws") + "?model=nova-3&encoding=linear16&sample_rate=48000"
    async with http.ws_connect(url, headers={"Authorization": f"Token {DEEPGRAM_KEY}"}) as ws:
        await ws.send_str(json.dumps({"type": "KeepAlive"}))
        await ws.send_bytes(speak("Product manager.").tobytes())  # no trailing quiet: only Finalize ends it
        await ws.send_str(json.dumps({"type": "Finalize"}))
        messages = []
        while not any(m.get("from_finalize") for m in messages):
            messages.append(await ws.receive_json(timeout=20))
        await ws.send_str(json.dumps({"type": "CloseStream"}))
        messages += [json.loads(m.data) async for m in ws if m.type == aiohttp.WSMsgType.TEXT]
    final = next(m for m in messages if m.get("from_finalize"))
    assert final["is_final"] and "product manager" in final["channel"]["alternatives"][0]["transcript"].lower()
    assert messages[-1]["type"] == "Metadata" and messages[-1]["duration"] > 0.5


async def test_elevenlabs_plugin_streams_pcm_with_alignment(fake_elevenlabs: FakeElevenLabs, http) -> None:
    tts = cloud.elevenlabs_tts(cloud_settings(BASE, eleven=fake_elevenlabs), http)
    stream = tts.stream()
    stream.push_text("Thanks, Maria. What company do you work for?")
    stream.end_input()
    frames = [ev.frame async for ev in stream]
    await tts.aclose()
    seconds = sum(f.samples_per_channel for f in frames) / tts.sample_rate
    assert tts.sample_rate == 22050 and 1.5 < seconds < 8
    assert abs(seconds - fake_elevenlabs.served.audio_seconds_out) < 0.05
    assert fake_elevenlabs.served.characters_in == len("Thanks, Maria. What company do you work for? ")
    query = fake_elevenlabs.requests[0]
    assert (query["model_id"], query["output_format"], query["sync_alignment"]) == \
        ("eleven_flash_v2_5", "pcm_22050", "true")


async def test_elevenlabs_wrong_key_is_refused(fake_elevenlabs: FakeElevenLabs, http) -> None:
    tts = elevenlabs.TTS(api_key="wrong", base_url=fake_elevenlabs.base_url, encoding="pcm_22050",
                         http_session=http)
    stream = tts.stream(conn_options=NO_RETRY)
    stream.push_text("Hello.")
    stream.end_input()
    with pytest.raises(APIStatusError) as err:
        async for _ in stream:
            pass
    await tts.aclose()
    assert err.value.status_code == 401 and fake_elevenlabs.served.connections == 0


# --- settings, selection, start-up check --------------------------------------------------------------
def test_no_keys_means_local_providers() -> None:
    stack = build_speech_stack(BASE)
    assert isinstance(stack.stt, WhisperSTT) and isinstance(stack.tts, LocalTTS)
    assert stack.labels["stt"].startswith("faster-whisper/") and stack.labels["tts"].startswith("piper/")


@pytest.mark.parametrize(("deepgram_on", "eleven_on"), [(True, False), (False, True), (True, True)])
def test_each_key_selects_its_cloud_provider(fake_deepgram, fake_elevenlabs, deepgram_on: bool,
                                              eleven_on: bool) -> None:
    settings = cloud_settings(BASE, fake_deepgram if deepgram_on else None, fake_elevenlabs if eleven_on else None)
    stack = build_speech_stack(settings)
    assert isinstance(stack.stt, StickySTTFallback) == deepgram_on
    assert isinstance(stack.tts, StickyTTSFallback) == eleven_on
    assert (stack.labels["stt"] == "deepgram/nova-3") == deepgram_on
    assert (stack.labels["tts"] == "elevenlabs/eleven_flash_v2_5") == eleven_on


def test_cloud_base_url_must_be_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPGRAM_BASE_URL", "api.deepgram.com")
    with pytest.raises(ValidationError, match="DEEPGRAM_BASE_URL"):
        Settings(_env_file=None)


def test_start_up_check_accepts_good_keys(fake_deepgram, fake_elevenlabs) -> None:
    report = cloud.check(cloud_settings(BASE, fake_deepgram, fake_elevenlabs))
    assert report.problems == [] and report.warnings == []
    assert fake_deepgram.served.connections == 1  # one live connection opened and closed


@pytest.mark.parametrize(("override", "named"), [
    ({"deepgram_api_key": "wrong"}, "DEEPGRAM_API_KEY"),
    ({"eleven_api_key": "wrong"}, "ELEVEN_API_KEY"),
    ({"elevenlabs_voice_id": "no-such-voice"}, "ELEVENLABS_VOICE_ID"),
    ({"deepgram_model": "whisper-9"}, "DEEPGRAM_MODEL"),
])
def test_start_up_check_names_the_refused_setting(fake_deepgram, fake_elevenlabs, override, named: str) -> None:
    with pytest.raises(cloud.ProviderKeyError, match=named):
        cloud.check(cloud_settings(BASE, fake_deepgram, fake_elevenlabs, **override))


def test_unreachable_service_only_warns(fake_deepgram) -> None:
    settings = cloud_settings(BASE, fake_deepgram, deepgram_base_url="http://127.0.0.1:9/v1/listen")
    report = cloud.check(settings)
    assert report.problems == [] and "DEEPGRAM_BASE_URL" in report.warnings[0]


# --- fallback ------------------------------------------------------------------------------------------
def new_call(tmp_path) -> CallRecorder:
    return CallRecorder(f"sqlite:///{tmp_path / 'calls.db'}", room_name="onboarding-test")


@pytest.mark.parametrize(("fault", "api_key", "reason"), [
    ("http500", DEEPGRAM_KEY, "500"),
    ("http429", DEEPGRAM_KEY, "429"),
    ("drop", DEEPGRAM_KEY, "1011"),
    ("none", "wrong-key", "401"),
])
async def test_stt_falls_back_to_whisper_and_records_why(fake_deepgram, http, tmp_path, fault: str, api_key: str,
                                                          reason: str) -> None:
    fake_deepgram.fault.mode = fault  # drop_after=0: every connection closes right after the handshake
    stack = build_speech_stack(cloud_settings(BASE, fake_deepgram, deepgram_api_key=api_key), http)
    recorder = new_call(tmp_path)
    stack.attach(recorder.record_fallbacks)
    events = await hear(stack.stt.stream(), utterances("My name is Maria Garcia."))
    assert "maria garcia" in " ".join(finals(events)).lower()  # heard all the same, by the local STT
    [fallback] = stack.monitor.fallbacks
    assert (fallback["role"], fallback["from"], fallback["to"]) == ("stt", "deepgram/nova-3", "faster-whisper/tiny.en")
    assert reason in fallback["reason"]
    assert await asyncio.to_thread(recorder.flush)  # the recorder writes off the call's event loop
    with session_scope(recorder.db_url) as db:
        assert db.get(CallSession, recorder.session_id).provider_fallbacks == [fallback]


async def test_stt_dropped_mid_call_stays_on_whisper(fake_deepgram, http) -> None:
    """Deepgram serves the first answer, its socket drops at the second; the third is heard locally."""
    fake_deepgram.fault.mode, fake_deepgram.fault.drop_after = "drop", 1
    stack = build_speech_stack(cloud_settings(BASE, fake_deepgram), http)
    audio = utterances("My name is Maria Garcia.", "Yes.", pause=3.0)
    events = await hear(stack.stt.stream(), np.concatenate([audio, utterances("I work at Acme Corp.")]))
    texts = finals(events)
    # the third answer was heard (Whisper tiny writes "Acme" or "ECME" from run to run: the words around it)
    assert "maria garcia" in texts[0].lower() and "work at" in texts[-1].lower() and "corp" in texts[-1].lower()
    assert fake_deepgram.served.texts == [texts[0]]  # the first answer came from Deepgram, the last did not
    assert len(stack.monitor.fallbacks) == 1 and "1011" in stack.monitor.fallbacks[0]["reason"]


@pytest.mark.parametrize(("fault", "reason"), [("http500", "500"), ("http429", "429"), ("drop", "closed unexpectedly")])
async def test_tts_falls_back_to_local_voice(fake_elevenlabs, http, fault: str, reason: str) -> None:
    fake_elevenlabs.fault.mode = fault
    stack = build_speech_stack(cloud_settings(BASE, eleven=fake_elevenlabs), http)
    for text in ("What is your name?", "And your email?"):  # the second goes straight to the local voice
        stream = stack.tts.stream()
        stream.push_text(text)
        stream.end_input()
        seconds = sum(ev.frame.samples_per_channel for ev in [ev async for ev in stream]) / stack.tts.sample_rate
        assert seconds > 0.5
    assert fake_elevenlabs.served.audio_seconds_out == 0
    [fallback] = stack.monitor.fallbacks
    assert fallback["to"].startswith("flite/") and reason in fallback["reason"]
    assert fake_elevenlabs.served.rejected + fake_elevenlabs.served.connections <= 3  # no background probes


async def test_connection_time_is_metered_like_deepgram_bills_it(fake_deepgram, http) -> None:
    stack = build_speech_stack(cloud_settings(BASE, fake_deepgram), http)
    await hear(stack.stt.stream(), utterances("Fifty."))
    assert stack.monitor.stt_billed_seconds == pytest.approx(fake_deepgram.served.seconds_connected, abs=0.3)
    assert stack.monitor.stt_billed_seconds > fake_deepgram.served.audio_seconds_in * 0.9


# --- the worker: start-up check and one spoken call through the fakes ------------------------------------
@pytest.mark.slow
def test_worker_with_refused_key_stops_naming_it(livekit_server: Settings, fake_deepgram, artifacts) -> None:
    refused = cloud_env(cloud_settings(BASE, fake_deepgram, deepgram_api_key="wrong-key"))
    code, log = worker_exit(livekit_server, artifacts / "agent-worker-bad-key.log", **refused)
    assert code != 0 and "DEEPGRAM_API_KEY" in log


@pytest.mark.slow
async def test_spoken_onboarding_through_deepgram_and_elevenlabs(livekit_server: Settings, fake_deepgram,
                                                                 fake_elevenlabs, tmp_path, artifacts) -> None:
    settings = stack_settings(livekit_server, f"sqlite:///{tmp_path / 'calls.db'}", f"onboarding-cloud-{os.getpid()}")
    cloud = cloud_settings(settings, fake_deepgram, fake_elevenlabs)
    # The fake's finals come ≈ 0.3 s pause + ≈ 0.5 s of Whisper after speech ends (the service: ≈ 0.3 s), so the
    # turn waits a little longer for them, as the framework's "transcript arrives after turn" warning advises
    worker = await asyncio.to_thread(start_worker, settings, artifacts / "agent-worker-cloud.log",
                                     TTS_ENGINE="flite", ENDPOINTING_MIN_DELAY="0.9", **cloud_env(cloud))
    try:
        # Whisper behind the fake gets no per-question prompt (Deepgram has no such thing per turn): it hears
        # "Pacific time" as "specific time", so this caller names a city. It answers what it hears the agent ask, as
        # a person would: a fixed list of answers goes out of step for the rest of the call after one re-ask (a
        # loaded machine changes the audio Whisper hears, and so what it mishears)
        answers = {**PERSONAS[0].answer_book, "timezone": "London."}
        expected = {**PERSONAS[0].expected, "timezone": "Europe/London"}
        # the fake hears what the caller says (as Deepgram would), not what Whisper tiny makes of it under load:
        # the test is of the wire protocols and the pipeline, not of Whisper ("Acme" was once heard "ECME")
        script = CallScript(listener=ListeningCaller(answers, expected), on_answer=fake_deepgram.expect)
        result = await SimCaller(settings, script).run()
        record = await settled_call(settings, result.room_name)
    finally:
        await asyncio.to_thread(worker.stop)
    assert record.call.status == "completed", record.call.status_reason
    assert {k: record.profile.answers.get(k) for k in expected} == expected
    assert (record.call.stt_provider, record.call.tts_provider) == ("deepgram/nova-3", "elevenlabs/eleven_flash_v2_5")
    assert record.call.provider_fallbacks is None
    # every answer was heard by the Deepgram fake and every reply spoken by the ElevenLabs fake
    assert [t.text for t in record.user_turns] == [t for t in fake_deepgram.served.texts if t]
    assert len(fake_elevenlabs.served.texts) >= len(record.agent_turns)
    assert await asyncio.to_thread(fake_deepgram.wait_idle) and await asyncio.to_thread(fake_elevenlabs.wait_idle)
    usage = {(u["type"], u["provider"]): u for u in record.call.usage_detail}
    # The session meters the characters of every reply spoken; ElevenLabs bills what it was sent: each request's
    # text plus the one space the plugin appends, and also a reply cancelled before it played (no turn, no usage
    # event), so the bill can only be higher
    served, metered = fake_elevenlabs.served, usage[("tts_usage", "ElevenLabs")]["characters_count"]
    assert metered == sum(len(t.text) for t in record.agent_turns) == record.call.tts_characters
    assert metered <= served.characters_in - served.contexts
    # stored time stops at Deepgram's closing message; the socket itself may linger up to the plugin's 5 s
    # keep-alive delay, which the fake counts as connected
    connected = fake_deepgram.served.seconds_connected
    assert connected - 5.0 <= record.call.stt_billed_seconds <= connected + 0.5, (record.call.stt_billed_seconds,
                                                                                connected)
    assert usage[("stt_usage", "Deepgram")]["audio_duration"] <= record.call.stt_billed_seconds + 0.5
