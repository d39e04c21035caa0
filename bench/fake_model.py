"""A zero-latency, deterministic fake model for benchmarks.

The reply is a function of the request (like a model at temperature 0), so a replayed or
re-executed turn gets the same answer. The user message drives it:

``"loop N TOOL"``            call ``TOOL`` once per turn, N times, then answer;
``"loop N TOOL then GATE"``  the same, then call ``GATE`` (a tool that needs approval), then answer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelProvider
from agents.usage import Usage
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

__all__ = ["LoopModel", "LoopModelProvider", "reply_for"]

_PROGRAM = re.compile(r"loop (\d+) (\w+)(?: then (\w+))?")


def _text(item: Any) -> str:
    content = item.get("content") if isinstance(item, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _plain(item: Any) -> Any:
    dump = getattr(item, "model_dump", None)
    return dump(mode="json") if callable(dump) else item


def reply_for(items: list[Any]) -> list[Any]:
    """The output items the fake model answers ``items`` with."""
    plain = [_plain(i) for i in items]
    user = next((i for i in reversed(plain) if isinstance(i, dict) and i.get("role") == "user"), {})
    match = _PROGRAM.search(_text(user))
    outputs = sum(1 for i in plain if isinstance(i, dict) and i.get("type") == "function_call_output")
    if match is None:
        return [_message("no program", len(plain))]
    loops, tool, gate = int(match.group(1)), match.group(2), match.group(3)
    if outputs < loops:
        return [_call(tool, outputs, len(plain))]
    if gate is not None and outputs == loops:
        return [_call(gate, outputs, len(plain))]
    return [_message(f"done after {outputs} tool calls", len(plain))]


def _call(tool: str, n: int, position: int) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        type="function_call",
        id=f"fc_{position}",
        call_id=f"call_{position}_{tool}",
        name=tool,
        arguments=f'{{"n": {n}}}',
        status="completed",
    )


def _message(text: str, position: int) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        type="message",
        id=f"msg_{position}",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


class LoopModel(Model):
    """Answers instantly by rule (see the module docstring)."""

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: Any,
        tools: Any,
        output_schema: Any,
        handoffs: Any,
        tracing: Any,
        *,
        previous_response_id: Any = None,
        conversation_id: Any = None,
        prompt: Any = None,
    ) -> ModelResponse:
        items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
        return ModelResponse(
            output=reply_for(items),
            usage=Usage(requests=1, input_tokens=10, output_tokens=5, total_tokens=15),
            response_id=None,
        )

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[TResponseStreamEvent]:
        raise NotImplementedError("the benchmark model is used non-streamed")


class LoopModelProvider(ModelProvider):
    def get_model(self, model_name: str | None) -> Model:
        return LoopModel()
