"""The scripted interviewer: a rule-based conversation behind the livekit-agents LLM interface.

It needs no model and no network. Each new caller message goes once through the interview state
(cached by message id, so a retried or repeated inference never applies an answer twice); a
request with no new caller message means "say something": the opening at first, a re-prompt after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livekit.agents import llm, utils
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
        self._opened = False
        self._user_turns = 0

    @property
    def user_turns(self) -> int:
        """How many caller messages were handled: the turn_index of the latest one."""
        return self._user_turns

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "scripted"

    def reply_for(self, chat_ctx: llm.ChatContext) -> Reply:
        message = last_user_message(chat_ctx)
        if message is not None and message.id in self._handled:
            return self._handled[message.id]
        if message is not None and (message.text_content or "").strip():
            self._user_turns += 1
            reply = self.state.handle(message.text_content or "", self._user_turns)
            self._handled[message.id] = reply
        elif not self._opened:
            reply = self.state.opening()
        else:
            reply = self.state.reprompt()
        self._opened = True
        if self._on_reply is not None:
            self._on_reply(message, reply)
        return reply

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
