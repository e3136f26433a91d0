"""Fake Gemini API (Google AI, `generativelanguage.googleapis.com`) as livekit-plugins-google 1.8.9 calls it
through google-genai: REST + server-sent events.

- `POST /{version}/models/{model}:streamGenerateContent?alt=sse` (the SDK's default version is `v1`;
  `v1beta` is served too). Body: `contents` (role user|model, `parts` of text / inlineData / functionCall /
  functionResponse), optional `systemInstruction`, `tools[].functionDeclarations`, `generationConfig`.
  Answer: `data: {candidates, usageMetadata, modelVersion, responseId}` events; the last carries
  `finishReason: STOP`. Every event repeats `usageMetadata` (prompt count, candidates so far), as Gemini does.
- `GET /{version}/models?pageSize=N` (the plugin's prewarm) and `GET /{version}/models/{model}` (our start-up
  check).
- Header `x-goog-api-key`; a wrong key gets Google's real answer: 400 INVALID_ARGUMENT, reason API_KEY_INVALID.

What it says is decided by `script` (a `ModelScript`: scripted model turns, for behaviour that differs from our
rules) or else by `gemini_brain.decide` — a deterministic FAKE BRAIN (our own scripted interviewer
replayed over the request), not a model. Faults: `fault.mode` "http500" / "http429" (with Retry-After and a
RetryInfo detail) / "drop" (headers and `fault.drop_after` events, then the connection is cut) / "auth" (the
key is refused from now on, as if revoked), applied to generate requests once `fail_after_requests` requests
have been served normally.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from harness.fakes.gemini_brain import Decision, ModelScript, decide, tokens
from harness.fakes.server import FakeServer, Latency
from onboarding.interview import InterviewDefinition

KNOWN_MODELS = ("gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", "gemini-2.0-flash")
VERSIONS = ("v1", "v1beta")
IMAGE_TOKENS = 258  # what Gemini counts for an image up to 384 px a side
REALISTIC = Latency(connect=0.0, first_result=0.35)  # time to first token of a Flash model, and between events
BETWEEN_EVENTS = 0.04
FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")


@dataclass
class LLMServed:
    """What the fake delivered: the figures metering must match."""

    requests: int = 0  # generate requests answered in full
    prompt_tokens: int = 0
    output_tokens: int = 0
    function_calls: list[dict[str, Any]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)  # {"mime_type", "bytes"} of inlineData parts
    rejected: int = 0
    failed: int = 0  # requests answered with an injected fault


def google_error(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        body["details"] = details
    return web.json_response({"error": body}, status=code, headers=headers)


class FakeGemini(FakeServer):
    name = "gemini"

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key)
        self.llm = LLMServed()
        self.requests: list[dict[str, Any]] = []  # every accepted generate request body, with its path
        self.fail_after_requests = 0
        self.lookups: list[str] = []  # model list/get requests (prewarm, start-up check)
        self.definition: InterviewDefinition | None = None  # the brain's interview (default: data/interview.toml)
        self.script: ModelScript | None = None  # scripted model turns instead of the brain (see gemini_brain)
        self.latency = Latency(REALISTIC.connect, REALISTIC.first_result)
        for version in VERSIONS:
            self.app.router.add_get(f"/{version}/models", self._list_models)
            self.app.router.add_get(f"/{version}/models/{{model}}", self._get_model)
            self.app.router.add_post(f"/{version}/models/{{action}}", self._generate)

    @property
    def base_url(self) -> str:
        """What GEMINI_BASE_URL / `HttpOptions(base_url=...)` takes."""
        return self.http_url

    def reset(self) -> None:
        super().reset()
        self.latency = Latency(REALISTIC.connect, REALISTIC.first_result)
        self.llm = LLMServed()
        self.requests.clear()
        self.lookups.clear()
        self.definition = None
        self.script = None
        self.fail_after_requests = 0

    # --- auth and models ------------------------------------------------------------------------
    def _auth_problem(self, request: web.Request) -> web.Response | None:
        if request.headers.get("x-goog-api-key") == self.api_key:
            return None
        self.llm.rejected += 1
        return self._invalid_key()

    @staticmethod
    def _invalid_key() -> web.Response:
        return google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
             "message": "API key not valid. Please pass a valid API key."}])

    @staticmethod
    def _model(name: str) -> dict[str, Any]:
        return {"name": f"models/{name}", "baseModelId": name, "version": "001", "displayName": name,
                "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
                "supportedGenerationMethods": ["generateContent", "countTokens"]}

    async def _list_models(self, request: web.Request) -> web.Response:
        self.lookups.append(request.path_qs)
        if (problem := self._auth_problem(request)) is not None:
            return problem
        size = int(request.query.get("pageSize", "50"))
        return web.json_response({"models": [self._model(m) for m in KNOWN_MODELS[:size]],
                                  "nextPageToken": "fake-next" if size < len(KNOWN_MODELS) else ""})

    async def _get_model(self, request: web.Request) -> web.Response:
        self.lookups.append(request.path_qs)
        if (problem := self._auth_problem(request)) is not None:
            return problem
        model = request.match_info["model"].removeprefix("models/")
        if model not in KNOWN_MODELS:
            version = request.path.split("/")[1]
            return google_error(404, "NOT_FOUND", f"models/{model} is not found for API version {version}, or is "
                                "not supported for generateContent.")
        return web.json_response(self._model(model))

    # --- generate ------------------------------------------------------------------------------
    async def _generate(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(self.latency.connect)
        model, _, method = request.match_info["action"].partition(":")
        if (problem := self._auth_problem(request)) is not None:
            return problem
        if method != "streamGenerateContent" or request.query.get("alt") != "sse":
            return google_error(404, "NOT_FOUND", f"the fake serves streamGenerateContent?alt=sse, not {method}")
        if model not in KNOWN_MODELS:
            return google_error(404, "NOT_FOUND", f"models/{model} is not found for API version "
                                f"{request.path.split('/')[1]}, or is not supported for generateContent.")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if (problem := validate(body)) is not None:
            return google_error(400, "INVALID_ARGUMENT", problem)
        self.requests.append({"path": request.path, "model": model, "body": body})
        self._note_images(body)
        if self.fault.mode != "none" and len(self.requests) > self.fail_after_requests:
            if self.fault.mode == "auth":  # the key was revoked mid-call
                self.llm.failed += 1
                return self._invalid_key()
            if self.fault.mode == "http500":
                self.llm.failed += 1
                return google_error(500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                                    "https://developers.generativeai.google/guide/troubleshooting")
            if self.fault.mode == "http429":
                self.llm.failed += 1
                return google_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your "
                                    "plan and billing details.", [
                                        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                                            {"quotaMetric": "generativelanguage.googleapis.com/"
                                             "generate_content_free_tier_requests",
                                             "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                                             "quotaValue": "5"}]},
                                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "38s"}],
                                    headers={"Retry-After": "38"})
        decision = self.script.next(body["contents"]) if self.script else decide(body["contents"], self.definition)
        return await self._stream(request, model, body, decision)

    def _note_images(self, body: dict[str, Any]) -> None:
        last_user = next((c for c in reversed(body["contents"]) if c.get("role") == "user"), {})
        for part in last_user.get("parts", []):
            if "inlineData" in part:
                data = part["inlineData"]
                # proto JSON: camelCase or snake_case keys; bytes as (URL-safe, as google-genai sends) base64
                self.llm.images.append({"mime_type": _mime_type(data),
                                        "bytes": base64.urlsafe_b64decode(data.get("data", ""))})

    async def _stream(self, request: web.Request, model: str, body: dict[str, Any],
                      decision: Decision) -> web.StreamResponse:
        prompt = prompt_tokens(body)
        events = _events(decision)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        started = time.monotonic()
        await asyncio.sleep(self.latency.first_result)
        await response.prepare(request)
        self.connection_opened()
        output = 0
        try:
            for index, parts in enumerate(events):
                if self.fault.mode == "drop" and len(self.requests) > self.fail_after_requests \
                        and index >= self.fault.drop_after:
                    self.llm.failed += 1
                    assert request.transport is not None
                    request.transport.close()  # as a backend that went away: no final event, no clean end
                    return response
                output += sum(tokens(p.get("text") or p.get("functionCall")) for p in parts)
                last = index == len(events) - 1
                candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
                if last:
                    candidate["finishReason"] = "STOP"
                    self._served(events, decision, prompt, output)
                await response.write(b"data: " + json.dumps({
                    "candidates": [candidate],
                    "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": output,
                                      "totalTokenCount": prompt + output},
                    "modelVersion": model, "responseId": f"fake-{len(self.requests)}",
                }).encode() + b"\r\n\r\n")
                if not last:
                    await asyncio.sleep(BETWEEN_EVENTS)
            await response.write_eof()
        finally:
            self.connection_closed(time.monotonic() - started)
        return response

    def _served(self, events: list[list[dict[str, Any]]], decision: Decision, prompt: int, output: int) -> None:
        """Figures of a whole answer, recorded before its last event goes out: a client that has the answer
        can read them."""
        self.llm.requests += 1
        self.llm.prompt_tokens += prompt
        self.llm.output_tokens += output
        self.llm.function_calls += [p["functionCall"] for parts in events for p in parts if "functionCall" in p]
        if decision.text:
            self.llm.texts.append(decision.text)


def _events(decision: Decision) -> list[list[dict[str, Any]]]:
    """Function calls come in one event; text in sentence-sized pieces, as Gemini streams it."""
    if decision.calls:
        return [[{"functionCall": call} for call in decision.calls]]
    pieces = re.findall(r"[^.?!]+[.?!]*\s*", decision.text) or [decision.text]
    return [[{"text": piece}] for piece in pieces]


def _mime_type(inline_data: dict[str, Any]) -> str:
    return str(inline_data.get("mimeType") or inline_data.get("mime_type") or "")


def prompt_tokens(body: dict[str, Any]) -> int:
    count = 0
    for content in [body.get("systemInstruction") or {}, *body["contents"]]:
        for part in content.get("parts", []):
            count += IMAGE_TOKENS if "inlineData" in part else tokens(part.get("text") or part)
    for tool in body.get("tools") or []:
        count += tokens(tool)
    return count


def validate(body: dict[str, Any]) -> str | None:
    """What Gemini would refuse with 400 INVALID_ARGUMENT, or None."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    declared: set[str] = set()
    for tool in body.get("tools") or []:
        for declaration in tool.get("functionDeclarations") or []:
            name = declaration.get("name", "")
            if not FUNCTION_NAME.match(name):
                return f"* GenerateContentRequest.tools[0].function_declarations: invalid name {name!r}"
            schema = (declaration.get("parametersJsonSchema") or declaration.get("parameters_json_schema")
                      or declaration.get("parameters"))
            if schema is not None and schema.get("type", "").lower() != "object":
                return f"* function_declarations[{name}].parameters: must be an object schema"
            declared.add(name)
    system = body.get("systemInstruction")
    if system is not None and not system.get("parts"):
        return "* GenerateContentRequest.system_instruction.parts: must not be empty"
    for index, content in enumerate(contents):
        if content.get("role") not in ("user", "model"):
            return f"* GenerateContentRequest.contents[{index}].role: must be user or model"
        parts = content.get("parts")
        if not parts:
            return f"* GenerateContentRequest.contents[{index}].parts: contents.parts must not be empty."
        for part in parts:
            call = part.get("functionCall") or part.get("functionResponse")
            if call is not None and call.get("name") not in declared:
                return f"* GenerateContentRequest.contents[{index}]: function {call.get('name')!r} is not declared"
            if "inlineData" in part and not _mime_type(part["inlineData"]).startswith("image/"):
                return f"* GenerateContentRequest.contents[{index}]: unsupported inline data MIME type"
    if contents[-1].get("role") != "user":
        return "Please ensure that the conversation ends with a user turn or a function response."
    return None
