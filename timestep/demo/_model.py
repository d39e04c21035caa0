"""The demo's built-in scripted model: deterministic, offline, no API key.

It plays a support agent by rule, from the conversation so far: look the order up, then ask to
refund its amount, then report what happened (including a human's rejection). A reply depends
only on the input, like a model at temperature 0, so a re-asked turn would get the same answer.
Every model call - scripted or real (``--model``) - is logged for the demo's counts.
"""

from __future__ import annotations

import json
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

from timestep.demo._log import record
from timestep.errors import UserError

__all__ = ["SCRIPTED_MODEL", "DemoModelProvider", "ScriptedDemoModel"]

#: The model name that selects the scripted model (anything else goes to MultiModelProvider).
SCRIPTED_MODEL = "timestep-demo/scripted"

_ORDER_ID = re.compile(r"\b[A-Z]-\d{3,}\b")


def _plain(item: Any) -> dict[str, Any]:
    dump = getattr(item, "model_dump", None)
    value = dump(mode="json") if callable(dump) else item
    return value if isinstance(value, dict) else {}


def _user_text(items: list[dict[str, Any]]) -> str:
    for item in reversed(items):
        if item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def reply_for(items: list[dict[str, Any]]) -> list[Any]:
    """The output items the scripted model answers ``items`` with."""
    names = {i.get("call_id"): i.get("name") for i in items if i.get("type") == "function_call"}
    outputs = [i for i in items if i.get("type") == "function_call_output"]
    n = len(items)
    if not outputs:
        match = _ORDER_ID.search(_user_text(items).upper())
        order_id = match.group(0) if match else "A-1001"
        return [_call("lookup_order", {"order_id": order_id}, n)]
    last = outputs[-1]
    tool, output = names.get(last.get("call_id")), str(last.get("output", ""))
    if tool == "lookup_order":
        try:
            order = json.loads(output)
        except ValueError:
            order = {}
        if "amount_cents" not in order:
            return [_message(f"I could not find that order ({output}).", n)]
        return [
            _call(
                "refund", {"order_id": order["order_id"], "amount_cents": order["amount_cents"]}, n
            )
        ]
    if tool == "refund" and output.startswith("Refunded"):
        return [_message(f"Done. {output} The customer will see it in 3-5 business days.", n)]
    return [_message(f"I did not issue the refund: {output}", n)]


def _call(name: str, arguments: dict[str, Any], n: int) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        type="function_call",
        id=f"fc_{n}",
        call_id=f"call_{name}_{n}",
        name=name,
        arguments=json.dumps(arguments),
        status="completed",
    )


def _message(text: str, n: int) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        type="message",
        id=f"msg_{n}",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


def _tokens(value: Any) -> int:
    # A rough 4-characters-per-token estimate, so the timeline has usage to show.
    return max(1, len(json.dumps(value, default=str)) // 4)


class ScriptedDemoModel(Model):
    """Answers by rule (see the module docstring); never touches the network."""

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
        previous_response_id: Any,
        conversation_id: Any,
        prompt: Any,
    ) -> ModelResponse:
        items = (
            [{"role": "user", "content": input}]
            if isinstance(input, str)
            else [_plain(i) for i in input]
        )
        output = reply_for(items)
        in_tokens, out_tokens = _tokens(items), _tokens([_plain(o) for o in output])
        usage = Usage(
            requests=1,
            input_tokens=in_tokens,
            output_tokens=out_tokens,
            total_tokens=in_tokens + out_tokens,
        )
        return ModelResponse(output=output, usage=usage, response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[TResponseStreamEvent]:
        raise UserError(
            "The scripted demo model answers non-streamed only (durable runs never stream)."
        )


class _Logged(Model):
    """Logs each call that really executes (replays return the recorded turn and skip this)."""

    def __init__(self, inner: Model, name: str) -> None:
        self.inner = inner
        self.name = name

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        record("model", self.name)
        return await self.inner.get_response(*args, **kwargs)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[TResponseStreamEvent]:
        return self.inner.stream_response(*args, **kwargs)


class DemoModelProvider(ModelProvider):
    """The scripted model for ``SCRIPTED_MODEL``; any other name goes to ``MultiModelProvider``."""

    def get_model(self, model_name: str | None) -> Model:
        if model_name in (None, SCRIPTED_MODEL):
            return _Logged(ScriptedDemoModel(), SCRIPTED_MODEL)
        from timestep.models import MultiModelProvider

        return _Logged(MultiModelProvider().get_model(model_name), model_name or "")
