"""Agents SDK inputs → an Ollama ``/api/chat`` request body.

Accepts both item dialects a timestep run can carry: the Python SDK's Responses items
(``function_call_output``, ``call_id``, ``input_image.image_url``) and the JS SDK's
(``function_call_result``, ``callId``, ``input_image.image``), because runs resume across
languages. Ollama message fields used: ``role``, ``content``, ``thinking``, ``images`` (bare
base64), ``tool_calls`` (``id`` + ``function{name, arguments-object}``), ``tool_name`` and
``tool_call_id`` (the server accepts both; older servers match results by ``tool_name``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import TResponseInputItem
from agents.model_settings import MCPToolChoice, ModelSettings
from agents.tool import FunctionTool, Tool, ensure_function_tool_supports_responses_only_features

from timestep.errors import UserError

__all__ = ["ChatRequest", "build_chat_request", "input_to_messages", "tools_to_ollama"]

logger = logging.getLogger("timestep.models")

_BACKEND = "Ollama models"

# Keys of extra_args that are top-level /api/chat fields; every other key is a model option
# (seed, stop, num_ctx, top_k, ...). Options passed top-level are ignored by Ollama and were
# the original project's TypeError (``temperature=`` to AsyncClient.chat).
_TOP_LEVEL_KEYS = frozenset(
    {"keep_alive", "think", "format", "truncate", "shift", "logprobs", "top_logprobs"}
)

# Responses effort → Ollama ``think``: levels where Ollama has them, False for "none".
_EFFORT_TO_THINK: dict[str, bool | str] = {
    "none": False,
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
}


@dataclass
class ChatRequest:
    """One ``/api/chat`` call: JSON body plus per-request headers and query parameters."""

    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def build_chat_request(
    *,
    model: str,
    system_instructions: str | None,
    input: str | list[TResponseInputItem],
    model_settings: ModelSettings,
    tools: list[Tool],
    output_schema: AgentOutputSchemaBase | None,
    handoffs: list[Handoff[Any, Any]],
    stream: bool,
) -> ChatRequest:
    """Build the request for one model call (see the module docstring for the mapping)."""
    messages = input_to_messages(input)
    if system_instructions:
        messages.insert(0, {"role": "system", "content": system_instructions})
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": stream,
        # Always present, as the ollama client does: servers treat a missing list as "no tools".
        "tools": tools_to_ollama(tools, handoffs, model_settings.tool_choice),
    }
    if output_schema is not None and not output_schema.is_plain_text():
        body["format"] = output_schema.json_schema()
    options, top_level = _settings_to_fields(model_settings)
    body.update(top_level)
    if options:
        body["options"] = options
    if model_settings.extra_body and isinstance(model_settings.extra_body, Mapping):
        body.update(model_settings.extra_body)
    headers = {str(k): str(v) for k, v in (model_settings.extra_headers or {}).items()}
    params = dict(model_settings.extra_query or {})
    return ChatRequest(body=body, headers=headers, params=params)


def _settings_to_fields(settings: ModelSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    options: dict[str, Any] = {}
    top_level: dict[str, Any] = {}
    if settings.temperature is not None:
        options["temperature"] = settings.temperature
    if settings.top_p is not None:
        options["top_p"] = settings.top_p
    if settings.frequency_penalty is not None:
        options["frequency_penalty"] = settings.frequency_penalty
    if settings.presence_penalty is not None:
        options["presence_penalty"] = settings.presence_penalty
    if settings.max_tokens is not None:
        options["num_predict"] = settings.max_tokens
    effort = settings.reasoning.effort if settings.reasoning is not None else None
    if effort is not None:
        top_level["think"] = _EFFORT_TO_THINK.get(str(effort), True)
    for key, value in (settings.extra_args or {}).items():
        if key == "options" and isinstance(value, Mapping):
            options.update(value)
        elif key in _TOP_LEVEL_KEYS:
            top_level[key] = value
        else:
            options[key] = value
    return options, top_level


def tools_to_ollama(
    tools: Iterable[Tool],
    handoffs: Iterable[Handoff[Any, Any]],
    tool_choice: str | MCPToolChoice | None,
) -> list[dict[str, Any]]:
    """Function tools and handoffs as Ollama tools, filtered by ``tool_choice``.

    Ollama has no ``tool_choice``. We honour what can be honoured: ``"none"`` sends no tools; a
    tool name sends only that tool (the model can then call nothing else); ``"required"`` sends
    every tool but cannot force a call, so it logs a warning. Schemas are sent unmodified.
    """
    if isinstance(tool_choice, MCPToolChoice):
        raise UserError("MCPToolChoice is not supported by Ollama models.")
    converted: list[dict[str, Any]] = []
    for tool in tools:
        if not isinstance(tool, FunctionTool):
            raise UserError(
                f"{_BACKEND} support function tools and handoffs only, not hosted tools; got "
                f"{type(tool).__name__} ({getattr(tool, 'name', '?')})."
            )
        ensure_function_tool_supports_responses_only_features(tool, backend_name=_BACKEND)
        converted.append(_function(tool.name, tool.description or "", tool.params_json_schema))
    for handoff in handoffs:
        converted.append(
            _function(handoff.tool_name, handoff.tool_description, handoff.input_json_schema)
        )
    if tool_choice is None or tool_choice == "auto":
        return converted
    if tool_choice == "none":
        return []
    if tool_choice == "required":
        logger.warning(
            "Ollama has no tool_choice; 'required' cannot be enforced, all tools are offered."
        )
        return converted
    chosen = [tool for tool in converted if tool["function"]["name"] == tool_choice]
    if not chosen:
        names = ", ".join(tool["function"]["name"] for tool in converted) or "none"
        raise UserError(
            f"tool_choice={tool_choice!r} names no tool of this agent (tools: {names})."
        )
    return chosen


def _function(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def input_to_messages(input: str | Iterable[Any]) -> list[dict[str, Any]]:
    """Convert SDK input items (Python or JS dialect) to Ollama chat messages."""
    if isinstance(input, str):
        return [{"role": "user", "content": input}]
    return _MessageBuilder().build(input)


class _MessageBuilder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.call_names: dict[str, str] = {}
        self.pending_thinking: list[str] = []

    def build(self, items: Iterable[Any]) -> list[dict[str, Any]]:
        for raw in items:
            item = _as_dict(raw)
            kind = item.get("type")
            if kind in (None, "message"):
                self._message(item)
            elif kind == "function_call":
                self._function_call(item)
            elif kind in ("function_call_output", "function_call_result"):
                self._function_result(item)
            elif kind == "reasoning":
                self._reasoning(item)
            else:
                raise UserError(
                    f"{_BACKEND} cannot take input items of type {kind!r} (supported: messages, "
                    "function calls and their results, reasoning)."
                )
        return self.messages

    def _message(self, item: dict[str, Any]) -> None:
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer"):
            raise UserError(f"Unsupported message role for {_BACKEND}: {role!r}.")
        text, images = _content(item.get("content", ""))
        if role == "assistant":
            last = self._open_assistant()
            if last is not None and not last["content"]:
                # Function calls of the same turn came first (a streamed order); join them.
                last["content"] = text
                return
            self.messages.append(self._assistant(text))
            return
        self.pending_thinking.clear()  # reasoning belongs to the assistant turn right after it
        message: dict[str, Any] = {
            "role": "system" if role == "developer" else role,
            "content": text,
        }
        if images:
            message["images"] = images
        self.messages.append(message)

    def _function_call(self, item: dict[str, Any]) -> None:
        call_id = str(item.get("call_id") or item.get("callId") or "")
        name = str(item.get("name", ""))
        if call_id:
            self.call_names[call_id] = name
        call: dict[str, Any] = {}
        if call_id:
            call["id"] = call_id
        call["function"] = {"name": name, "arguments": _arguments(item.get("arguments"))}
        message = self._open_assistant()
        if message is None:
            message = self._assistant("")
            self.messages.append(message)
        message.setdefault("tool_calls", []).append(call)

    def _function_result(self, item: dict[str, Any]) -> None:
        call_id = str(item.get("call_id") or item.get("callId") or "")
        name = item.get("name") or self.call_names.get(call_id, "")
        text, images = _tool_output(item.get("output"))
        message: dict[str, Any] = {"role": "tool", "content": text, "tool_name": name}
        if call_id:
            message["tool_call_id"] = call_id
        if images:
            message["images"] = images
        self.messages.append(message)

    def _reasoning(self, item: dict[str, Any]) -> None:
        parts = item.get("content") or item.get("rawContent") or item.get("summary") or []
        for part in parts:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                self.pending_thinking.append(part["text"])

    def _open_assistant(self) -> dict[str, Any] | None:
        """The assistant message of the current turn, if nothing has followed it yet."""
        if self.messages and self.messages[-1]["role"] == "assistant":
            return self.messages[-1]
        return None

    def _assistant(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if self.pending_thinking:
            message["thinking"] = "".join(self.pending_thinking)
            self.pending_thinking.clear()
        return message


def _as_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        dumped = dump(exclude_unset=True)
        if isinstance(dumped, dict):
            return dumped
    raise UserError(f"{_BACKEND} cannot take input item {item!r}.")


def _arguments(raw: Any) -> dict[str, Any]:
    """Ollama wants tool-call arguments as an object; the SDK carries a JSON string."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if not raw:
        return {}
    try:
        parsed = json.loads(str(raw))
    except ValueError:
        # Invalid JSON from an earlier model turn: keep it visible rather than drop it.
        return {"_raw_arguments": str(raw)}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _content(content: Any) -> tuple[str, list[str]]:
    """Text and base64 images of a message's content (a string or a list of parts)."""
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    images: list[str] = []
    for part in content or []:
        _part(_as_dict(part), texts, images)
    return "\n".join(texts), images


def _tool_output(output: Any) -> tuple[str, list[str]]:
    if output is None:
        return "", []
    if isinstance(output, str):
        return output, []
    if isinstance(output, Mapping):
        output = [output]
    if isinstance(output, list):
        texts: list[str] = []
        images: list[str] = []
        for part in output:
            _part(_as_dict(part), texts, images)
        return "\n".join(texts), images
    return json.dumps(output, default=str), []


def _part(part: dict[str, Any], texts: list[str], images: list[str]) -> None:
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        texts.append(str(part.get("text", "")))
    elif kind == "refusal":
        texts.append(str(part.get("refusal", "")))
    elif kind in ("input_image", "image"):
        images.append(_image_base64(part))
    else:
        raise UserError(
            f"{_BACKEND} accept text and inline images only; content part {kind!r} cannot be sent."
        )


def _image_base64(part: dict[str, Any]) -> str:
    source = part.get("image_url") or part.get("image") or part.get("data")
    if isinstance(source, Mapping):  # JS {id: ...} or {url: ...}
        source = source.get("url") or source.get("id")
    if not isinstance(source, str) or not source:
        raise UserError(
            f"{_BACKEND} need images inline (a data: URL or base64); file ids are not supported "
            f"(image part keys: {sorted(part)})."
        )
    if source.startswith("data:"):
        header, _, data = source.partition(",")
        if ";base64" not in header:
            raise UserError(f"{_BACKEND} need base64 data URLs; got a {header!r} URL.")
        return data
    if source.startswith(("http://", "https://", "file:")):
        raise UserError(
            f"{_BACKEND} take images as base64 only; download {source[:80]!r} and pass it as a "
            "data:image/...;base64 URL."
        )
    return source  # already bare base64
