"""The scripted interviewer: a rule-based conversation behind the livekit-agents LLM interface.

It needs no model and no network. Each new caller message goes once through the interview state
(cached by message id, so a retried or repeated inference never applies an answer twice); a
request with no new caller message means "say something": the opening at first, a re-prompt after.
The reply hook (the call's recorder) hears each message's reply until it has taken it: a retried inference
after a hook that raised reports the cached reply again instead of dropping it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livekit.agents import Agent, llm, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr

from onboarding.interview import InterviewState, Reply

ReplyHook = Callable[[llm.ChatMessage | None, Reply], None]


def last_user_message(chat_ctx: llm.ChatContext) -> llm.ChatMessage | None:
    """The caller's latest message if nothing from the agent came after it."""
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role == "assistant":
            return None
        if item.type == "message" and item.role == "user":
            return item
    return None


class ScriptedInterviewer(llm.LLM):
    def __init__(self, state: InterviewState, on_reply: ReplyHook | None = None) -> None:
        super().__init__()
        self.state = state
        self._on_reply = on_reply
        self._handled: dict[str, Reply] = {}
        self._reported: set[str] = set()  # message ids whose reply the hook took
        self.opened = False  # the opening was said (by this interviewer or the one it stands in for)
        self._user_turns = 0

    @property
    def user_turns(self) -> int:
        """How many caller messages were handled: the turn_index of the latest one."""
        return self._user_turns

    @property
    def label(self) -> str:
        """What the call's row records as its LLM provider."""
        return "scripted"

    async def prepare(self, agent: Agent) -> None:
        """Nothing to connect, and no instructions or tools: the rules live in the interview state."""

    def video_options(self) -> dict[str, Any]:
        """Offline, the caller's video is not subscribed."""
        return {"video_sampler": NOT_GIVEN, "video_input": False}

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "scripted"

    def respond(self, message: llm.ChatMessage | None, turn_index: int) -> Reply:
        """The scripted reply to a caller message (once per message id), else the opening or a re-prompt.

        No counting and no hook: the Gemini interviewer delegates its fallback here with its own turn count.
        """
        if message is not None and message.id in self._handled:
            return self._handled[message.id]
        if message is not None and (message.text_content or "").strip():
            reply = self.state.handle(message.text_content or "", turn_index)
            self._handled[message.id] = reply
        elif not self.opened:
            reply = self.state.opening()
        else:
            reply = self.state.reprompt()
        self.opened = True
        return reply

    def already_answered(self, message: llm.ChatMessage | None) -> Reply | None:
        """The reply given before to this caller message (a retried or repeated inference)."""
        return self._handled.get(message.id) if message is not None else None

    def reply_for(self, chat_ctx: llm.ChatContext) -> Reply:
        message = last_user_message(chat_ctx)
        if (earlier := self.already_answered(message)) is not None:
            if message.id not in self._reported:
                self._report(message, earlier)
            return earlier
        if message is not None and (message.text_content or "").strip():
            self._user_turns += 1
        reply = self.respond(message, self._user_turns)
        self._report(message, reply)
        return reply

    def _report(self, message: llm.ChatMessage | None, reply: Reply) -> None:
        if self._on_reply is not None:
            self._on_reply(message, reply)
        if message is not None:
            self._reported.add(message.id)

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[Any] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        return _ScriptedStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class _ScriptedStream(llm.LLMStream):
    async def _run(self) -> None:
        assert isinstance(self._llm, ScriptedInterviewer)
        reply = self._llm.reply_for(self._chat_ctx)
        request_id = utils.shortuuid("scripted_")
        self._event_ch.send_nowait(
            llm.ChatChunk(id=request_id, delta=llm.ChoiceDelta(role="assistant", content=reply.text))
        )
        self._event_ch.send_nowait(
            llm.ChatChunk(id=request_id,
                          usage=llm.CompletionUsage(completion_tokens=0, prompt_tokens=0, total_tokens=0))
        )
