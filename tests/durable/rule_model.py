"""A deterministic fake model for durable-run tests: its reply is a function of its input.

A scripted queue would hand a re-executed step the *next* reply; a rule keyed on the input gives
the same reply for the same request, like a well-behaved model at temperature 0, so replays and
re-executions are comparable with an uninterrupted run.

Rules (on the latest input items):
- the last item is a tool output → final message ``"done: <outputs joined by |>"``;
- the user message contains ``"call <tool>(<json>)"`` phrases → one function call per phrase;
- otherwise → ``"echo: <user text>"``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelProvider
from agents.usage import Usage
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

_CALL = re.compile(r"call (\w+)\((\{.*?\})\)")


def _text_of(item: Any) -> str:
    content = item.get("content") if isinstance(item, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def reply_for(items: list[Any]) -> list[Any]:
    """The output items the rule model answers ``items`` with."""
    last = items[-1] if items else {}
    if isinstance(last, dict) and last.get("type") == "function_call_output":
        outputs = [str(i.get("output")) for i in items
                   if isinstance(i, dict) and i.get("type") == "function_call_output"]
        return [_message(f"done: {' | '.join(outputs)}", len(items))]
    user = next((i for i in reversed(items) if isinstance(i, dict) and i.get("role") == "user"), {})
    text = _text_of(user)
    calls = _CALL.findall(text)
    if calls:
        return [
            ResponseFunctionToolCall(
                type="function_call",
                id=f"fc_{len(items)}_{n}",
                call_id=f"call_{len(items)}_{n}_{name}",
                name=name,
                arguments=args,
                status="completed",
            )
            for n, (name, args) in enumerate(calls)
        ]
    return [_message(f"echo: {text}", len(items))]


def _fingerprint(items: list[Any]) -> str:
    """Identifies a request by its content, so a repeated turn shows up as the same line twice."""
    def plain(item: Any) -> Any:
        dump = getattr(item, "model_dump", None)
        return dump(mode="json") if callable(dump) else item

    canonical = json.dumps([plain(i) for i in items], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _message(text: str, n: int) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        type="message",
        id=f"msg_{n}",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


class RuleModel(Model):
    """Answers by rule; appends one line per call to ``$TIMESTEP_TEST_MODEL_LOG`` if set."""

    async def get_response(self, system_instructions: str | None, input: str | list[TResponseInputItem],
                           model_settings: Any, tools: Any, output_schema: Any, handoffs: Any,
                           tracing: Any, *, previous_response_id: Any, conversation_id: Any,
                           prompt: Any) -> ModelResponse:
        items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
        delay = float(os.environ.get("TIMESTEP_TEST_MODEL_DELAY", "0"))
        if delay:
            await asyncio.sleep(delay)
        log = os.environ.get("TIMESTEP_TEST_MODEL_LOG")
        if log:
            with Path(log).open("a") as f:
                f.write(json.dumps({"request": _fingerprint(items)}) + "\n")
        return ModelResponse(
            output=reply_for(items),
            usage=Usage(requests=1, input_tokens=10, output_tokens=5, total_tokens=15),
            response_id=None,
        )

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[TResponseStreamEvent]:
        raise NotImplementedError("RuleModel is used non-streamed by durable runs")


class RuleModelProvider(ModelProvider):
    def get_model(self, model_name: str | None) -> Model:
        return RuleModel()
