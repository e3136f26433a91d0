"""The Gemini interviewer: livekit-plugins-google on the same interview definition and state as the scripted one,
with the scripted interviewer behind it for the rest of a call once Gemini fails.

One `llm.LLM` wraps both so the session sees a single model: each request goes to Gemini (one attempt, bounded,
no retries: a 429 from a 5-requests-a-minute free tier will not clear in seconds) and, on any error — 5xx, 429,
a refused key, a dropped stream, a timeout — the same request is answered by the scripted rules from the state
the tools built so far, so the caller hears the next question within the attempt timeout instead of silence.
The switch is sticky for the call and recorded, with its reason, by the call's `ProviderMonitor` (role "llm").

With video on, the caller's latest camera/screen frame rides along with the newest caller message of each
request, so a caller can show a business card; what is read from it still goes through the tools' normaliser.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from google.genai import Client
from google.genai.types import HttpOptions, HttpRetryOptions
from livekit import rtc
from livekit.agents import Agent, llm, utils
from livekit.agents.llm.fallback_adapter import AvailabilityChangedEvent
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from livekit.plugins import google  # plugins register on import, which must happen on the main thread

from onboarding.interview import InterviewState, Reply, classify_reply, prompts
from onboarding.providers.fallback import ProviderMonitor
from onboarding.providers.gemini_tools import InterviewTools, ReplyHook, build_instructions
from onboarding.providers.scripted_llm import ScriptedInterviewer, last_user_message
from onboarding.settings import Settings

log = logging.getLogger("onboarding.providers")
LLM_ATTEMPT = APIConnectOptions(max_retry=0, timeout=5.0)  # then the scripted interviewer answers
FRAME_SIZE = 768  # longest side sent to the model: enough to read a business card, ≈258 tokens


def gemini_label(settings: Settings) -> str:
    return f"google/{settings.gemini_model}"


def gemini_llm(settings: Settings) -> Any:
    """The plugin, pointed at GEMINI_BASE_URL for every request, its prewarm included."""
    options = HttpOptions(base_url=settings.gemini_base_url, retry_options=HttpRetryOptions(attempts=1))
    plugin = google.LLM(api_key=settings.google_api_key, model=settings.gemini_model, http_options=options)
    # The plugin builds its client without http_options, so its prewarm (models.list) would go to the public
    # host whatever the base URL; generate requests carry the options per request.
    plugin._client = Client(api_key=settings.google_api_key, http_options=options)
    return plugin


def _tool_round_done(chat_ctx: llm.ChatContext) -> bool:
    """True when tool results came back since the caller last spoke (the request is a tool reply)."""
    for item in reversed(chat_ctx.items):
        if item.type == "function_call_output":
            return True
        if item.type == "message" and item.role == "user":
            return False
    return False


def _agent_before(chat_ctx: llm.ChatContext, message: llm.ChatMessage) -> str:
    """The agent's words just before `message` (the question or read-back it answers)."""
    said: list[str] = []
    for item in chat_ctx.items:
        if item is message or getattr(item, "id", None) == message.id:
            break
        if item.type == "message" and item.role == "assistant":
            said.append(item.text_content or "")
        elif item.type == "message" and item.role == "user":
            said = []
    return " ".join(said)


def with_frame(chat_ctx: llm.ChatContext, image: llm.ImageContent | None) -> llm.ChatContext:
    """A copy whose newest caller message also carries the latest video frame (the history keeps no images)."""
    if image is None:
        return chat_ctx
    ctx = chat_ctx.copy()
    for index in range(len(ctx.items) - 1, -1, -1):
        item = ctx.items[index]
        if item.type == "message" and item.role == "user":
            ctx.items[index] = item.model_copy(update={"content": [*item.content, image]})
            break
    return ctx


class GeminiInterviewer(llm.LLM):
    """`connect()` builds the plugin off the event loop (its clients load CA certificates, ≈0.2 s each) before
    the session starts; until then nothing can be asked."""

    def __init__(self, state: InterviewState, settings: Settings, *, on_reply: ReplyHook,
                 monitor: ProviderMonitor | None = None) -> None:
        super().__init__()
        self.state, self.settings, self._monitor = state, settings, monitor
        self.provider_label = gemini_label(settings)
        self.gemini: llm.LLM | None = None
        self._on_reply = on_reply
        self._user_turns = 0
        self._turn_texts: dict[int, str] = {}
        self._agent_said: dict[int, str] = {}  # caller turn → what the agent said just before it
        self._noted: set[str] = set()
        self.scripted = ScriptedInterviewer(state)  # answers the rest of the call once Gemini fails
        self.failed = False
        self.latest_frame: rtc.VideoFrame | None = None
        self._image: llm.ImageContent | None = None  # the latest frame, JPEG-encoded once however often it is sent
        self.instructions = build_instructions(state.definition)
        self.toolbox = InterviewTools(state, on_reply, lambda: self._user_turns, self._turn_texts, self._agent_said)

    @property
    def user_turns(self) -> int:
        return self._user_turns

    @property
    def label(self) -> str:
        return self.provider_label

    async def prepare(self, agent: Agent) -> None:
        """Before the session starts: the Gemini client, and the instructions and tools on the agent."""
        await self.connect()
        await agent.update_instructions(self.instructions)
        await agent.update_tools(self.toolbox.tools)

    def video_options(self) -> dict[str, Any]:
        """The caller's latest camera/screen frame rides along with each request."""
        return {"video_sampler": self.keep_frame, "video_input": True}

    @property
    def model(self) -> str:
        return "scripted" if self.failed else self.settings.gemini_model

    @property
    def provider(self) -> str:
        return "scripted" if self.failed else "google"

    def keep_frame(self, frame: rtc.VideoFrame, _session: Any = None) -> bool:
        """The session's video sampler: keep the newest frame for the next request (nothing goes to a realtime
        model, so the frame is not forwarded)."""
        self.latest_frame = frame
        return False

    def frame_image(self) -> llm.ImageContent | None:
        frame = self.latest_frame
        if frame is None:
            return None
        if self._image is None or self._image.image is not frame:
            self._image = llm.ImageContent(image=frame, inference_width=FRAME_SIZE, inference_height=FRAME_SIZE)
        return self._image

    async def connect(self) -> None:
        if self.gemini is None:
            self.gemini = await asyncio.to_thread(gemini_llm, self.settings)
            if self._monitor is not None:  # fallbacks and their reasons go on the call's row
                self._monitor.watch("llm", self, self.gemini, self.provider_label, "scripted")

    async def _prewarm_impl(self) -> None:
        if self.gemini is not None:
            await self.gemini._prewarm_impl()

    async def aclose(self) -> None:
        if self.gemini is not None:
            await self.gemini.aclose()

    def chat(self, *, chat_ctx: llm.ChatContext, tools: list[llm.Tool] | None = None,
             conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
             parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN, tool_choice: NotGivenOr[Any] = NOT_GIVEN,
             extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN) -> llm.LLMStream:
        return _InterviewStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)

    # --- bookkeeping shared by both paths -----------------------------------------------------------
    def note_caller(self, message: llm.ChatMessage | None, chat_ctx: llm.ChatContext | None = None) -> None:
        """A new caller message: count the turn and let the call store it before any tool refers to it; keep what
        the agent said just before it (a read-back is only confirmed by a yes to it)."""
        text = (message.text_content or "").strip() if message is not None else ""
        if message is None or message.id in self._noted or not text:
            return
        self._noted.add(message.id)
        self._user_turns += 1
        self._turn_texts[self._user_turns] = text
        self._agent_said[self._user_turns] = _agent_before(chat_ctx, message) if chat_ctx is not None else ""
        self._on_reply(message, Reply("", [], False))

    def fail(self, error: BaseException) -> None:
        if self.failed:
            return
        self.failed = True
        log.warning("Gemini failed, the scripted interviewer serves the rest of the call: %s", error)
        self.emit("llm_availability_changed", AvailabilityChangedEvent(llm=self.gemini, available=False))

    def scripted_reply(self, chat_ctx: llm.ChatContext) -> Reply:
        """What the scripted interviewer says, continuing from the state the Gemini tools left."""
        message = last_user_message(chat_ctx)
        if _tool_round_done(chat_ctx):  # Gemini's tools already took this answer in: just move on
            spec = self.state.current
            if self.state.finished or spec is None:
                self.state.finished = True
                reply = Reply(self.state.wrap_up(), [], True, self.state.ended_by_caller)
            else:
                reply = Reply(prompts.join(prompts.ACKS[1], spec.question), [], False)
            self.scripted.opened = True
        elif (earlier := self.scripted.already_answered(message)) is not None:
            return earlier
        elif (taken := self._answer_left_open(message)) is not None:
            reply = taken
        else:  # the caller's turn was counted and stored by note_caller: reuse its number
            reply = self.scripted.respond(message, self._user_turns)
        self._on_reply(None, reply)
        return reply

    def _answer_left_open(self, message: llm.ChatMessage | None) -> Reply | None:
        """Gemini may have read a value back in free text and failed on the caller's yes: the scripted rules take
        the answer it read back (the latest caller turn no tool stored) before the yes, so the yes confirms it."""
        text = (message.text_content or "").strip() if message is not None else ""
        if not text or self.state.pending_confirmation or classify_reply(text) not in ("yes", "no", "correction"):
            return None
        earlier = [i for i in self._turn_texts if i < self._user_turns and i not in self.toolbox.consumed]
        if not earlier:
            return None
        index = max(earlier)
        self.toolbox.consumed.add(index)
        before = self.state.handle(self._turn_texts[index], index)
        if not self.state.pending_confirmation:  # it went in without a read-back: go on from there
            return before
        self._on_reply(None, Reply("", before.updates, False))
        return self.scripted.respond(message, self._user_turns)


class _InterviewStream(llm.LLMStream):
    async def _run(self) -> None:
        interviewer = self._llm
        assert isinstance(interviewer, GeminiInterviewer)
        interviewer.note_caller(last_user_message(self._chat_ctx), self._chat_ctx)
        if not interviewer.failed:
            assert interviewer.gemini is not None, "GeminiInterviewer.connect() (prepare_agent) was not awaited"
            tools_sent = False
            try:
                async with interviewer.gemini.chat(chat_ctx=with_frame(self._chat_ctx, interviewer.frame_image()),
                                                   tools=self._tools, conn_options=LLM_ATTEMPT) as stream:
                    async for chunk in stream:
                        tools_sent = tools_sent or bool(chunk.delta and chunk.delta.tool_calls)
                        self._event_ch.send_nowait(chunk)
                interviewer.scripted.opened = True
                return
            except Exception as exc:  # any failure: the caller must hear the next question, not silence
                interviewer.fail(exc)
                if tools_sent:  # they still run; the reply after them comes from the scripted interviewer
                    return
        reply = interviewer.scripted_reply(self._chat_ctx)
        self._event_ch.send_nowait(llm.ChatChunk(id=utils.shortuuid("scripted_"),
                                                 delta=llm.ChoiceDelta(role="assistant", content=reply.text)))


# --- start-up check ---------------------------------------------------------------------------------
def check_gemini(settings: Settings) -> list[str]:
    """Fetch the configured model with the key, as the plugin's client would: proves both in one request.

    Raises cloud.ProviderKeyError naming GOOGLE_API_KEY (refused) or GEMINI_MODEL (unknown); returns warnings
    (unreachable, 5xx, 429) — calls then start on Gemini and fall back to the scripted interviewer.
    """
    import concurrent.futures
    from urllib.parse import urlparse

    from google.genai import errors

    from onboarding.providers.cloud import CHECK_TIMEOUT, ProviderKeyError

    host = urlparse(settings.gemini_base_url).netloc
    options = HttpOptions(base_url=settings.gemini_base_url, timeout=int(CHECK_TIMEOUT * 1000),
                          retry_options=HttpRetryOptions(attempts=1))

    async def fetch() -> None:
        client = Client(api_key=settings.google_api_key, http_options=options)
        try:
            await client.aio.models.get(model=settings.gemini_model)
        finally:
            await client.aio.aclose()

    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, fetch()).result()
    except errors.APIError as exc:
        said = f"{exc.code} {exc.message or exc.status}"
        if exc.code in (400, 401, 403) and "model" not in str(exc.message or "").lower():
            raise ProviderKeyError(f"GOOGLE_API_KEY was refused by {host} ({said}): set a valid key, or leave it "
                                   "empty to use the scripted interviewer") from None
        if exc.code in (400, 404):
            raise ProviderKeyError(f"GEMINI_MODEL={settings.gemini_model!r} is not served by {host} ({said})") from None
        if exc.code == 429:
            return [f"Gemini at {host} is rate limiting this key (429) — the free tier allows about 5 requests/min: "
                    "wait, or use a paid key; calls use the scripted interviewer meanwhile"]
        return [f"Gemini at {host} answered {said} — retry later, check GEMINI_BASE_URL; calls fall back to the "
                "scripted interviewer until it works"]
    except Exception as exc:  # unreachable: calls try Gemini and fall back
        return [f"Gemini not reachable at {host} ({type(exc).__name__}) — check GEMINI_BASE_URL and the network; "
                "calls use the scripted interviewer meanwhile"]
    return []
