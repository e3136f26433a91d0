"""The Gemini interviewer against a local fake of Gemini's REST + SSE API: the plugin's wire contract (auth,
request, function calls, usage, video frames), the tools on the shared InterviewState, the sticky fallback to
the scripted interviewer, the start-up key check, and spoken calls through a real livekit-server and worker.

The fake's replies come from a deterministic fake brain (tests/fakes/gemini_brain.py), not a model."""



from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from livekit import rtc
from livekit.agents import Agent, AgentSession, APIConnectOptions, APIStatusError, llm
from livekit.agents.llm import ToolError

from harness.fakes.deepgram import FakeDeepgram
from harness.fakes.elevenlabs import FakeElevenLabs
from harness.fakes.gemini import FakeGemini
from harness.fakes.settings import cloud_env, cloud_settings
from harness.personas import PERSONAS, ListeningCaller
from harness.simcaller import CallScript, SimCaller
from harness.testbed import settled_call, stack_settings, start_worker, worker_exit
from onboarding.interview import InterviewState, load_definition
from onboarding.providers import cloud
from onboarding.providers.fallback import ProviderMonitor
from onboarding.providers.gemini_interviewer import GeminiInterviewer, check_gemini, gemini_llm
from onboarding.providers.gemini_tools import InterviewTools, build_instructions
from onboarding.providers.scripted_llm import ScriptedInterviewer
from onboarding.providers.selection import build_interviewer
from onboarding.settings import Settings

BASE = Settings(_env_file=None)
DEFINITION = load_definition()
SHORT_INTERVIEW = """
greeting = "Hi, this is a short test call."
goodbye = "Thanks, goodbye."
[[fields]]
name = "company"
type = "text"
normalizer = "company"
questions = ["What company are you with?"]
[[fields]]
name = "team_size"
label = "team size"
type = "integer"
min = 1
max = 1000000
questions = ["Roughly how many people are on your team?"]
"""


class Hooked:
    """An interviewer on a fresh state whose reply hook records what the call would store."""

    def __init__(self, settings: Settings) -> None:
        self.state = InterviewState(DEFINITION)
        self.replies: list[tuple[str | None, object]] = []
        self.monitor = ProviderMonitor()
        self.interviewer = build_interviewer(settings, self.state, self._hook, self.monitor)

    def _hook(self, message: llm.ChatMessage | None, reply: object) -> None:
        self.replies.append((message.text_content if message else None, reply))

    @property
    def updates(self) -> list:
        return [u for _, r in self.replies for u in r.updates]


@pytest.fixture
async def session_for(fake_gemini: FakeGemini) -> AsyncIterator:
    """Text-mode sessions (no room, no audio): the framework runs the tools the model calls."""
    sessions: list[AgentSession] = []

    async def start(hooked: Hooked) -> AgentSession:
        agent = Agent(instructions="set by the interviewer's prepare()")
        await hooked.interviewer.prepare(agent)
        session = AgentSession(llm=hooked.interviewer)
        await session.start(agent)
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        await session.aclose()


def said(result) -> str:
    return " ".join(e.item.text_content for e in result.events if e.type == "message")


# --- the plugin against the fake: the wire contract --------------------------------------------------
async def test_plugin_request_sse_and_usage(fake_gemini: FakeGemini) -> None:
    plugin = gemini_llm(cloud_settings(BASE, gemini=fake_gemini))
    tools = InterviewTools(InterviewState(DEFINITION), lambda *_: None, lambda: 0, {}).tools
    ctx = llm.ChatContext()
    ctx.add_message(role="system", content=build_instructions(DEFINITION))
    chunks = [c async for c in plugin.chat(chat_ctx=ctx, tools=tools)]
    await plugin.aclose()
    text = "".join(c.delta.content for c in chunks if c.delta and c.delta.content)
    assert text == fake_gemini.llm.texts[0] and text.startswith(DEFINITION.greeting)
    assert len([c for c in chunks if c.delta and c.delta.content]) > 1  # streamed in pieces, not one block
    usage = [c.usage for c in chunks if c.usage][-1]
    assert (usage.prompt_tokens, usage.completion_tokens) == (fake_gemini.llm.prompt_tokens,
                                                              fake_gemini.llm.output_tokens)
    [request] = fake_gemini.requests
    assert request["path"] == "/v1/models/gemini-2.5-flash:streamGenerateContent"
    body = request["body"]
    assert DEFINITION.greeting in body["systemInstruction"]["parts"][0]["text"]
    declarations = {d["name"]: d for d in body["tools"][0]["functionDeclarations"]}
    assert set(declarations) == {"record_field", "correct_field", "skip_field", "finish"}
    schema = declarations["record_field"]["parameters_json_schema"]
    assert schema["properties"]["field"]["enum"] == DEFINITION.names and schema["required"] == ["field", "heard",
                                                                                                "value"]


async def test_prewarm_and_a_wrong_key(fake_gemini: FakeGemini) -> None:
    good = gemini_llm(cloud_settings(BASE, gemini=fake_gemini))
    await good._prewarm_impl()  # models.list, at the fake rather than the public host
    assert fake_gemini.lookups == ["/v1/models?pageSize=1"]
    bad = gemini_llm(cloud_settings(BASE, gemini=fake_gemini, google_api_key="wrong"))
    ctx = llm.ChatContext()
    ctx.add_message(role="user", content="Hello.")
    with pytest.raises(APIStatusError) as err:
        async for _ in bad.chat(chat_ctx=ctx, conn_options=APIConnectOptions(max_retry=0)):
            pass
    assert err.value.status_code == 400 and not err.value.retryable and "API key not valid" in err.value.body
    assert fake_gemini.llm.rejected == 1 and fake_gemini.requests == []
    await good.aclose()
    await bad.aclose()


async def test_function_calls_go_through_the_state_with_provenance(fake_gemini: FakeGemini, session_for) -> None:
    hooked = Hooked(cloud_settings(BASE, gemini=fake_gemini))
    session = await session_for(hooked)
    first = await session.run(user_input="My name is Maria Garcia.")
    assert "Is that right?" in said(first) and hooked.state.values == {}  # read back before recording
    second = await session.run(user_input="Yes.")
    second.expect.contains_function_call(name="record_field", arguments={
        "field": "full_name", "heard": "My name is Maria Garcia.", "value": "Maria Garcia"})
    assert "email" in said(second)
    await session.run(user_input="I'm a product manager at Acme Corp.")  # two fields in one answer
    assert hooked.state.values == {"full_name": "Maria Garcia", "company": "Acme Corp", "role": "Product Manager"}
    by_field = {u.field: u for u in hooked.updates}
    assert by_field["full_name"].turn_index == 1 and by_field["full_name"].source == "tool"  # said in turn 1
    assert by_field["company"].turn_index == 3 and by_field["company"].raw.startswith("I'm a product")
    assert [m for m, _ in hooked.replies if m] == ["My name is Maria Garcia.", "Yes.",
                                                  "I'm a product manager at Acme Corp."]
    [usage] = [u for u in session.usage.model_usage if u.type == "llm_usage"]
    assert (usage.provider, usage.model) == ("google", "gemini-2.5-flash")
    assert (usage.input_tokens, usage.output_tokens) == (fake_gemini.llm.prompt_tokens, fake_gemini.llm.output_tokens)
    assert hooked.monitor.fallbacks == []


async def test_video_frame_arrives_as_an_inline_image(fake_gemini: FakeGemini, session_for) -> None:
    hooked = Hooked(cloud_settings(BASE, gemini=fake_gemini))
    session = await session_for(hooked)
    frame = rtc.VideoFrame(64, 48, rtc.VideoBufferType.RGBA, bytes([200, 30, 30, 255]) * (64 * 48))
    assert hooked.interviewer.keep_frame(frame, session) is False  # kept for the LLM, not forwarded
    await session.run(user_input="My name is Maria Garcia.")
    [image] = fake_gemini.llm.images
    assert image["mime_type"] == "image/jpeg" and image["bytes"][:2] == b"\xff\xd8"
    last_user = [c for c in fake_gemini.requests[-1]["body"]["contents"] if c["role"] == "user"][-1]
    assert [list(p) for p in last_user["parts"]] == [["text"], ["inlineData"]]
    assert not any(isinstance(c, llm.ImageContent) for item in session.history.items  # history stays lean
                   if item.type == "message" for c in item.content)


# --- the tools on InterviewState --------------------------------------------------------------------
def tools_on(state: InterviewState, replies: list) -> InterviewTools:
    return InterviewTools(state, lambda m, r: replies.append(r), lambda: 2, {1: "it's maria at example dot com"})


def test_invalid_value_goes_back_to_the_model_as_a_tool_error() -> None:
    state, replies = InterviewState(DEFINITION), []
    tools = tools_on(state, replies)
    with pytest.raises(ToolError, match=r"valid email address.*Ask again: What's the best email"):
        tools.store({"field": "email", "heard": "maria at", "value": "maria@"}, "tool")
    with pytest.raises(ToolError, match="no field 'shoe_size'"):
        tools.store({"field": "shoe_size", "heard": "nine", "value": "9"}, "tool")
    with pytest.raises(ToolError, match="between 1 and 1000000"):
        tools.store({"field": "team_size", "heard": "none", "value": "0"}, "tool")
    assert state.values == {} and replies == []


def test_record_and_correction_keep_history_and_provenance() -> None:
    """A read-back field is stored once the caller said yes to its read-back; provenance is the turn the words were
    said in and that turn's STT transcript, whatever the model put in `heard`."""
    state, replies, now = InterviewState(DEFINITION), [], [2]
    texts = {1: "it's maria at example dot com", 2: "Yes.", 3: "actually it's maria dot g at example dot com",
             4: "Yes, that's it."}
    said = {2: "I heard m-a-r-i-a at example dot com. Is that right?",
            4: "So that's maria dot g at example dot com, right?"}
    tools = InterviewTools(state, lambda m, r: replies.append(r), lambda: now[0], texts, said)
    out = json.loads(tools.store({"field": "email", "heard": "maria at example dot com",
                                  "value": "maria@example.com"}, "tool"))
    assert out == {"stored": "email", "value": "maria@example.com", "next_question": DEFINITION.fields[0].question,
                   "next_field": "full_name"}
    now[0] = 4
    tools.store({"field": "email", "heard": "she corrected it to maria dot g", "value": "Maria.G@Example.com"},
                "correction")
    first, second = state.history["email"]
    assert (first.turn_index, first.raw) == (1, "it's maria at example dot com")  # the turn the words were said in
    assert (second.value, second.previous, second.source, second.turn_index, second.raw) == (
        "maria.g@example.com", "maria@example.com", "correction", 3, texts[3])
    assert [r.updates for r in replies] == [[first], [second]]


def test_finish_refuses_while_required_fields_are_missing() -> None:
    state, replies = InterviewState(DEFINITION), []
    tools = tools_on(state, replies)
    with pytest.raises(ToolError, match="still missing full_name, email"):
        tools.finish("completed")
    assert json.loads(tools.finish("caller_ended"))["say"].startswith("No problem, we can stop here.")
    assert state.finished and state.ended_by_caller and replies[-1].done and replies[-1].ended_by_caller


def test_instructions_come_from_the_definition() -> None:
    text = build_instructions(DEFINITION)
    assert DEFINITION.greeting in text and DEFINITION.goodbye in text
    for spec in DEFINITION.fields:
        assert f"- {spec.name} ({spec.label}; {'required' if spec.required else 'optional'}" in text
        assert spec.question in text
    assert "full_name (name; required, person_name, read back)" in text


def test_without_a_key_the_scripted_interviewer_serves() -> None:
    assert isinstance(build_interviewer(BASE, InterviewState(DEFINITION), lambda *_: None), ScriptedInterviewer)


# --- fallback to the scripted interviewer ------------------------------------------------------------
@pytest.mark.parametrize(("fault", "fail_after", "reason"), [
    ("http500", 0, "500"), ("http429", 2, "429"), ("drop", 2, "APIConnectionError"), ("auth", 0, "API key not valid"),
])
async def test_gemini_failure_switches_to_scripted_for_the_rest_of_the_call(
        fake_gemini: FakeGemini, session_for, fault: str, fail_after: int, reason: str) -> None:
    """Fails on the first answer (0) or on the reply after a tool call (2): the same turn is answered anyway."""
    fake_gemini.fault.mode, fake_gemini.fail_after_requests = fault, fail_after
    hooked = Hooked(cloud_settings(BASE, gemini=fake_gemini))
    session = await session_for(hooked)
    started = asyncio.get_running_loop().time()
    await session.run(user_input="My name is Maria Garcia.")
    reply = said(await session.run(user_input="Yes."))
    assert asyncio.get_running_loop().time() - started < 5  # no long silence while switching
    assert "email" in reply and hooked.state.values == {"full_name": "Maria Garcia"}
    said_before = len(fake_gemini.requests)
    await session.run(user_input="It's maria at example dot com.")
    await session.run(user_input="Yes.")
    assert len(fake_gemini.requests) == said_before  # sticky: Gemini is not asked again during this call
    assert hooked.state.values == {"full_name": "Maria Garcia", "email": "maria@example.com"}
    [fallback] = hooked.monitor.fallbacks
    assert (fallback["role"], fallback["from"], fallback["to"]) == ("llm", "google/gemini-2.5-flash", "scripted")
    assert reason in fallback["reason"]
    assert isinstance(hooked.interviewer, GeminiInterviewer) and hooked.interviewer.provider == "scripted"


# --- start-up check -----------------------------------------------------------------------------------
def test_start_up_check(fake_gemini: FakeGemini) -> None:
    assert check_gemini(cloud_settings(BASE, gemini=fake_gemini)) == []
    assert fake_gemini.lookups == ["/v1/models/gemini-2.5-flash"]
    with pytest.raises(cloud.ProviderKeyError, match=r"GOOGLE_API_KEY was refused .*400 API key not valid"):
        check_gemini(cloud_settings(BASE, gemini=fake_gemini, google_api_key="wrong"))
    with pytest.raises(cloud.ProviderKeyError, match="GEMINI_MODEL='gemini-9-ultra'"):
        check_gemini(cloud_settings(BASE, gemini=fake_gemini, gemini_model="gemini-9-ultra"))
    [warning] = check_gemini(cloud_settings(BASE, gemini=fake_gemini, gemini_base_url="http://127.0.0.1:9"))
    assert "GEMINI_BASE_URL" in warning


@pytest.mark.slow
def test_worker_with_refused_google_key_stops_naming_it(livekit_server: Settings, fake_gemini, artifacts) -> None:
    refused = cloud_env(cloud_settings(BASE, gemini=fake_gemini, google_api_key="wrong-key"))
    code, log = worker_exit(livekit_server, artifacts / "agent-worker-bad-google-key.log", **refused)
    assert code != 0 and "GOOGLE_API_KEY" in log


# --- spoken calls: real livekit-server, real worker, simulated caller -------------------------------------
@pytest.mark.slow
async def test_spoken_onboarding_through_deepgram_gemini_and_elevenlabs(
        livekit_server: Settings, fake_deepgram: FakeDeepgram, fake_gemini: FakeGemini,
        fake_elevenlabs: FakeElevenLabs, tmp_path, artifacts) -> None:
    settings = stack_settings(livekit_server, f"sqlite:///{tmp_path / 'calls.db'}", f"onboarding-gemini-{os.getpid()}")
    cloud = cloud_settings(settings, fake_deepgram, fake_elevenlabs, fake_gemini)
    worker = await asyncio.to_thread(start_worker, settings, artifacts / "agent-worker-gemini.log",
                                     TTS_ENGINE="flite", ENDPOINTING_MIN_DELAY="0.9", **cloud_env(cloud))
    try:
        # as in test_cloud_providers: Whisper behind the fake; a caller who answers what it hears asked, re-asks too
        answers = {**PERSONAS[0].answer_book, "timezone": "London."}
        expected = {**PERSONAS[0].expected, "timezone": "Europe/London"}
        # the fake hears what the caller says (as Deepgram would), not what Whisper tiny makes of it under load:
        # the test is of the wire protocols and the pipeline, not of Whisper ("Acme" was once heard "ECME")
        script = CallScript(listener=ListeningCaller(answers, expected), on_answer=fake_deepgram.expect)
        result = await SimCaller(settings, script).run()
        record = await settled_call(settings, result.room_name)
    finally:
        await asyncio.to_thread(worker.stop)
    call = record.call
    assert call.status == "completed", call.status_reason
    heard = {k: v for k, v in expected.items() if k != "company"}  # Whisper tiny, loaded, may hear "ECME Corp"
    assert {k: record.profile.answers.get(k) for k in heard} == heard
    assert (call.stt_provider, call.llm_provider, call.tts_provider) == (
        "deepgram/nova-3", "google/gemini-2.5-flash", "elevenlabs/eleven_flash_v2_5")
    assert call.provider_fallbacks is None
    assert [t.text for t in record.user_turns] == [t for t in fake_deepgram.served.texts if t]
    # every field came from a tool call, pointing at the caller turn its words were said in
    current = record.current_values()
    turns = {t.id: t for t in record.turns}
    for name in expected:
        assert current[name].source == "tool", name
        assert current[name].raw_text.lower().rstrip(".") in turns[current[name].turn_id].text.lower(), name
    assert current["company"].value.lower() in current["company"].raw_text.lower()
    assert [c["name"] for c in fake_gemini.llm.function_calls].count("finish") == 1
    assert record.agent_turns[-1].text.endswith(DEFINITION.goodbye)  # the goodbye played before the room closed
    # metering: the tokens the session counted are the tokens the fake served
    assert (call.llm_input_tokens, call.llm_output_tokens) == (fake_gemini.llm.prompt_tokens,
                                                               fake_gemini.llm.output_tokens)
    assert call.llm_input_tokens > 0
    usage = {(u["type"], u["provider"]): u for u in call.usage_detail}
    assert usage[("llm_usage", "google")]["model"] == "gemini-2.5-flash"


@pytest.fixture(scope="module")
def gemini_worker(livekit_server: Settings, gemini_server: FakeGemini, tmp_path_factory, artifacts):
    """One worker (local speech, Gemini fake, a two-question interview) for the spoken fallback calls."""
    folder = tmp_path_factory.mktemp("gemini-fallback")
    interview = folder / "interview.toml"
    interview.write_text(SHORT_INTERVIEW)
    settings = stack_settings(livekit_server, f"sqlite:///{folder / 'calls.db'}", f"onboarding-gfb-{os.getpid()}")
    env = cloud_env(cloud_settings(settings, gemini=gemini_server))
    worker = start_worker(settings, artifacts / "agent-worker-gemini-fallback.log", TTS_ENGINE="flite",
                          INTERVIEW_PATH=str(interview), **env)
    try:
        yield settings, interview
    finally:
        worker.stop()


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "fail_after", "reason"), [
    ("http500", 3, "500"),  # greeting, first answer's tool call and its reply by Gemini; the second answer fails
    ("http429", 1, "429"),  # greeting by Gemini; the first answer fails
    ("drop", 2, "APIConnectionError"),  # the reply after the first tool call is cut off
    ("auth", 1, "API key not valid"),  # the key is revoked mid-call
])
async def test_spoken_call_survives_gemini_failure(gemini_worker, fake_gemini: FakeGemini, fault: str,
                                                   fail_after: int, reason: str) -> None:
    settings, interview = gemini_worker
    fake_gemini.definition = load_definition(Path(interview))
    fake_gemini.fault.mode, fake_gemini.fail_after_requests = fault, fail_after
    result = await SimCaller(settings, CallScript(answers=["I work at Acme Corp.", "About twenty people."])).run()
    record = await settled_call(settings, result.room_name)
    call = record.call
    assert call.status == "completed", call.status_reason
    assert len(record.user_turns) == 2  # every turn stored
    company = record.profile.answers["company"]  # "Acme Corp" as heard by Whisper tiny on a busy machine
    assert record.profile.answers == {"company": company, "team_size": 20}
    assert company.lower() in record.user_turns[0].text.lower()
    assert len(record.agent_turns) >= 3 and record.agent_turns[-1].text.endswith("Thanks, goodbye.")
    [fallback] = call.provider_fallbacks
    assert (fallback["role"], fallback["to"]) == ("llm", "scripted") and reason in fallback["reason"]
    assert call.llm_provider == "google/gemini-2.5-flash"
    assert (call.llm_input_tokens, call.llm_output_tokens) == (fake_gemini.llm.prompt_tokens,
                                                               fake_gemini.llm.output_tokens)
