"""A fake OpenAI-compatible server: ``/v1/chat/completions`` and ``/v1/responses``.

Both endpoints answer non-streamed (one JSON object) or streamed (SSE ``data:`` lines):

* Chat Completions: ``chat.completion.chunk`` objects, tool calls split across deltas with
  ``index``/``id`` (name first, arguments in pieces), ``finish_reason`` ``tool_calls`` or
  ``stop``, a usage chunk when ``stream_options.include_usage``, then ``data: [DONE]``.
* Responses: ``event:``/``data:`` pairs ``response.created``, ``response.in_progress``,
  ``response.output_item.added``, ``response.output_text.delta``,
  ``response.function_call_arguments.delta``/``done``, ``response.output_item.done``, …,
  ``response.completed`` carrying the whole response and usage.

Every request needs ``Authorization: Bearer <api_key>`` (401 in OpenAI's error shape otherwise).
Replies are scripted with the same vocabulary as :mod:`tests.fakes.ollama_server`
(``Reply.thinking`` is Ollama-only and ignored here).

Usage::

    with FakeOpenAI.start() as server:
        server.script([Reply(text="hi")])
        client = AsyncOpenAI(base_url=server.base_url, api_key=server.api_key)
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
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
    split_tokens,
)

__all__ = ["FakeOpenAI"]

SSE = "text/event-stream"


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class FakeOpenAI(ScriptedServer):
    """A scripted OpenAI-compatible server on 127.0.0.1 that records every request.

    Args:
        api_key: The Bearer key every request must carry.
    """

    def __init__(self, *, api_key: str = "sk-test-fake-key") -> None:
        self.api_key = api_key
        super().__init__()

    @property
    def base_url(self) -> str:
        """The ``base_url`` for ``AsyncOpenAI`` (``…/v1``)."""
        return f"{self.url}/v1"

    @property
    def model_requests(self) -> list[dict[str, Any]]:
        """Bodies of the model requests (chat completions and responses), in order."""
        paths = ("/v1/chat/completions", "/v1/responses")
        return [r.body for r in self.requests if r.path in paths and isinstance(r.body, dict)]

    @property
    def model_count(self) -> int:
        """How many model requests arrived."""
        return len(self.model_requests)

    # -- the app -----------------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    async def _prepare(self, request: Request) -> tuple[Any, Response | None]:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self._script.record(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                at=time.time(),
            )
        )
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return body, _error(401, "Incorrect API key provided.", "invalid_api_key")
        if not isinstance(body, dict) or not body.get("model"):
            return body, _error(400, "you must provide a model parameter", "missing_model")
        return body, None

    async def _models(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        return JSONResponse({"object": "list", "data": []})

    async def _next(self, body: dict[str, Any]) -> Reply | Response:
        item = self._script.next_for(body)
        if item is None:
            return _error(500, "FakeOpenAI: no scripted reply left", "script_exhausted")
        if isinstance(item, ErrorReply):
            return _error(item.status, item.message.replace("{model}", str(body["model"])))
        if item.delay:
            await asyncio.sleep(item.delay)
        return item

    async def _chat(self, request: Request) -> Response:
        body, failure = await self._prepare(request)
        if failure is not None:
            return failure
        reply = await self._next(body)
        if isinstance(reply, Response):
            return reply
        model = str(body["model"])
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(_chat_stream(model, reply, include_usage), media_type=SSE)
        return JSONResponse(_chat_whole(model, reply))

    async def _responses(self, request: Request) -> Response:
        body, failure = await self._prepare(request)
        if failure is not None:
            return failure
        reply = await self._next(body)
        if isinstance(reply, Response):
            return reply
        model = str(body["model"])
        if body.get("stream"):
            return StreamingResponse(_responses_stream(model, reply), media_type=SSE)
        return JSONResponse(_response_object(model, reply, _response_items(reply), "completed"))


def _error(status: int, message: str, code: str | None = None) -> Response:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": code}},
        status_code=status,
    )


# -- Chat Completions --------------------------------------------------------------------------


def _finish_reason(reply: Reply) -> str:
    return reply.done_reason or ("tool_calls" if reply.tool_calls else "stop")


def _chat_usage(reply: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def _call_id(call: ToolCall) -> str:
    return call.id or _id("call")


def _chat_whole(model: str, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(call),
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))},
            }
            for call in reply.tool_calls
        ]
    return {
        "id": _id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish_reason(reply),
                "logprobs": None,
            }
        ],
        "usage": _chat_usage(reply),
    }


def _sse(obj: dict[str, Any] | str, event: str | None = None) -> str:
    data = obj if isinstance(obj, str) else json.dumps(obj)
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {data}\n\n"


async def _chat_stream(model: str, reply: Reply, include_usage: bool) -> AsyncIterator[str]:
    completion_id, created = _id("chatcmpl"), int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return _sse(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
                ],
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    for fragment in split_tokens(reply.text):
        yield chunk({"content": fragment})
        await asyncio.sleep(0)
    for index, call in enumerate(reply.tool_calls):
        head = {"name": call.name, "arguments": ""}
        yield chunk(
            {
                "tool_calls": [
                    {"index": index, "id": _call_id(call), "type": "function", "function": head}
                ]
            }
        )
        arguments = json.dumps(dict(call.arguments))
        middle = max(1, len(arguments) // 2)
        for piece in (arguments[:middle], arguments[middle:]):
            if piece:
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                await asyncio.sleep(0)
    if reply.truncate:
        return
    yield chunk({}, _finish_reason(reply))
    if include_usage:
        yield _sse(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": _chat_usage(reply),
            }
        )
    yield _sse("[DONE]")


# -- Responses ---------------------------------------------------------------------------------


def _message_item(text: str, status: str, item_id: str) -> dict[str, Any]:
    content = (
        [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        if status == "completed"
        else []
    )
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": status,
        "content": content,
    }


def _function_item(call: ToolCall, call_id: str, arguments: str, item_id: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": call.name,
        "arguments": arguments,
        "status": "completed",
    }


def _response_items(reply: Reply) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reply.text:
        items.append(_message_item(reply.text, "completed", _id("msg")))
    for call in reply.tool_calls:
        items.append(
            _function_item(call, _call_id(call), json.dumps(dict(call.arguments)), _id("fc"))
        )
    return items


def _response_object(
    model: str,
    reply: Reply,
    output: list[dict[str, Any]],
    status: str,
    response_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": response_id or _id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": None,
        "top_p": None,
        "text": {"format": {"type": "text"}},
        "usage": {
            "input_tokens": reply.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": reply.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": reply.input_tokens + reply.output_tokens,
        }
        if status == "completed"
        else None,
    }


async def _responses_stream(model: str, reply: Reply) -> AsyncIterator[str]:
    sequence = 0
    response_id = _id("resp")

    def event(kind: str, **fields: Any) -> str:
        nonlocal sequence
        payload = {"type": kind, "sequence_number": sequence, **fields}
        sequence += 1
        return _sse(payload, kind)

    yield event(
        "response.created", response=_response_object(model, reply, [], "in_progress", response_id)
    )
    yield event(
        "response.in_progress",
        response=_response_object(model, reply, [], "in_progress", response_id),
    )
    output: list[dict[str, Any]] = []
    if reply.text:
        index, item_id = len(output), _id("msg")
        yield event(
            "response.output_item.added",
            output_index=index,
            item=_message_item("", "in_progress", item_id),
        )
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield event(
            "response.content_part.added",
            item_id=item_id,
            output_index=index,
            content_index=0,
            part=part,
        )
        for fragment in split_tokens(reply.text):
            yield event(
                "response.output_text.delta",
                item_id=item_id,
                output_index=index,
                content_index=0,
                delta=fragment,
                logprobs=[],
            )
            await asyncio.sleep(0)
        yield event(
            "response.output_text.done",
            item_id=item_id,
            output_index=index,
            content_index=0,
            text=reply.text,
            logprobs=[],
        )
        yield event(
            "response.content_part.done",
            item_id=item_id,
            output_index=index,
            content_index=0,
            part={**part, "text": reply.text},
        )
        done = _message_item(reply.text, "completed", item_id)
        output.append(done)
        yield event("response.output_item.done", output_index=index, item=done)
    for call in reply.tool_calls:
        index, item_id, call_id = len(output), _id("fc"), _call_id(call)
        arguments = json.dumps(dict(call.arguments))
        yield event(
            "response.output_item.added",
            output_index=index,
            item={**_function_item(call, call_id, "", item_id), "status": "in_progress"},
        )
        middle = max(1, len(arguments) // 2)
        for piece in (arguments[:middle], arguments[middle:]):
            if piece:
                yield event(
                    "response.function_call_arguments.delta",
                    item_id=item_id,
                    output_index=index,
                    delta=piece,
                )
        yield event(
            "response.function_call_arguments.done",
            item_id=item_id,
            output_index=index,
            name=call.name,
            arguments=arguments,
        )
        done = _function_item(call, call_id, arguments, item_id)
        output.append(done)
        yield event("response.output_item.done", output_index=index, item=done)
    if reply.truncate:
        return
    yield event(
        "response.completed",
        response=_response_object(model, reply, output, "completed", response_id),
    )
