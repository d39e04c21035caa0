"""A protocol-faithful fake Ollama server (``/api/chat``, ``/api/tags``, ``/api/version``).

Follows ollama/ollama ``docs/api.md`` (see reference/ollama.md §2): ``stream`` defaults to
true; a streamed reply is NDJSON (``application/x-ndjson``, one ``\\n``-terminated object per
line): thinking fragments, content fragments, the tool calls as ONE complete chunk (server ids
``call_xxxxxxxx`` and ``function.index``), then a final ``done: true`` chunk with
``done_reason`` and nanosecond metrics. A non-streamed reply is one JSON object. Errors are
``{"error": "..."}`` with the documented status codes; a mid-stream failure stays HTTP 200 and
ends with an error line. With ``api_key`` set it plays Ollama Cloud and answers 401 without
``Authorization: Bearer <key>``.

Usage::

    with FakeOllama.start() as server:
        server.script([Reply(text="hi"), Reply(tool_calls=(ToolCall("f", {"x": 1}),))])
        provider = OllamaModelProvider(base_url=server.url)
        ...
        assert server.chat_requests[0]["options"]["temperature"] == 0
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes._common import (
    ErrorReply,
    RecordedRequest,
    Reply,
    ScriptedServer,
    ToolCall,
    random_call_id,
    split_tokens,
)

__all__ = ["FakeOllama"]

NDJSON = "application/x-ndjson"


class FakeOllama(ScriptedServer):
    """A scripted Ollama server on 127.0.0.1 that records every request.

    Args:
        api_key: If set, every ``/api/*`` request needs ``Authorization: Bearer <api_key>``
            (plays Ollama Cloud); otherwise no auth (a local daemon).
        models: If set, chat requests for other models get 404 ``model 'x' not found``;
            ``/api/tags`` lists them.
        version: What ``/api/version`` reports.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Sequence[str] | None = None,
        version: str = "0.12.6",
    ) -> None:
        self.api_key = api_key
        self.models = list(models) if models is not None else None
        self.version = version
        super().__init__()

    # -- scripting ---------------------------------------------------------------------------

    # -- inspection --------------------------------------------------------------------------

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the ``/api/chat`` requests, in order."""
        return [r.body for r in self.requests if r.path == "/api/chat" and isinstance(r.body, dict)]

    @property
    def chat_count(self) -> int:
        """How many ``/api/chat`` requests arrived (model calls)."""
        return len(self.chat_requests)

    # -- the app -----------------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/chat", self._chat, methods=["POST"]),
                Route("/api/tags", self._tags, methods=["GET"]),
                Route("/api/version", self._version, methods=["GET"]),
            ]
        )

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self._script.record(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                at=time.time(),
            )
        )
        return body

    def _unauthorized(self, request: Request) -> Response | None:
        if self.api_key is None:
            return None
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return None

    async def _version(self, request: Request) -> Response:
        await self._record(request)
        return self._unauthorized(request) or JSONResponse({"version": self.version})

    async def _tags(self, request: Request) -> Response:
        await self._record(request)
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        return JSONResponse({"models": [_tag(name) for name in self.models or []]})

    async def _chat(self, request: Request) -> Response:
        body = await self._record(request)
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        if not isinstance(body, dict):
            return _error(400, "invalid JSON body")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _error(400, "model is required")
        if not isinstance(body.get("messages", []), list):
            return _error(400, "messages must be an array")
        if self.models is not None and model not in self.models:
            return _error(404, f"model '{model}' not found")
        stream = body.get("stream", True) is not False
        item = self._script.next_for(body)
        if item is None:
            return _error(500, f"FakeOllama: no scripted reply left (request #{self.chat_count})")
        if isinstance(item, ErrorReply):
            message = item.message.replace("{model}", model)
            if item.mid_stream and stream:
                return StreamingResponse(_failing_stream(model, item, message), media_type=NDJSON)
            return _error(item.status, message)
        if item.delay:
            await asyncio.sleep(item.delay)
        if stream:
            return StreamingResponse(_stream(model, item), media_type=NDJSON)
        return JSONResponse(_whole(model, item))


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj) + "\n"


def _chunk(model: str, **message: Any) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": _now(),
        "message": {"role": "assistant", "content": "", **message},
        "done": False,
    }


def _tool_calls(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    rendered = []
    for index, call in enumerate(calls):
        entry: dict[str, Any] = {
            "function": {"index": index, "name": call.name, "arguments": dict(call.arguments)}
        }
        call_id = random_call_id() if call.id is None else call.id
        if call_id:
            entry = {"id": call_id, **entry}
        rendered.append(entry)
    return rendered


def _metrics(reply: Reply) -> dict[str, Any]:
    return {
        "done": True,
        "done_reason": reply.done_reason or "stop",
        "total_duration": 1_250_000_000,
        "load_duration": 50_000_000,
        "prompt_eval_count": reply.input_tokens,
        "prompt_eval_duration": 200_000_000,
        "eval_count": reply.output_tokens,
        "eval_duration": 1_000_000_000,
    }


async def _stream(model: str, reply: Reply) -> AsyncIterator[str]:
    for fragment in split_tokens(reply.thinking):
        yield _line(_chunk(model, thinking=fragment))
        await asyncio.sleep(0)
    for fragment in split_tokens(reply.text):
        yield _line(_chunk(model, content=fragment))
        await asyncio.sleep(0)
    if reply.tool_calls:
        yield _line(_chunk(model, tool_calls=_tool_calls(reply.tool_calls)))
    if reply.truncate:
        return
    final = _chunk(model)
    final.update(_metrics(reply))
    yield _line(final)


async def _failing_stream(model: str, error: ErrorReply, message: str) -> AsyncIterator[str]:
    for fragment in split_tokens(error.text_before):
        yield _line(_chunk(model, content=fragment))
        await asyncio.sleep(0)
    yield _line({"error": message})


def _whole(model: str, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.thinking:
        message["thinking"] = reply.thinking
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply.tool_calls)
    return {"model": model, "created_at": _now(), "message": message, **_metrics(reply)}


def _tag(name: str) -> dict[str, Any]:
    family = name.split(":", 1)[0]
    return {
        "name": name,
        "model": name,
        "modified_at": _now(),
        "size": 1_000_000,
        "digest": "0" * 64,
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": "1B",
            "quantization_level": "Q4_K_M",
        },
    }
