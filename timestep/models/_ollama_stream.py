"""Ollama chat chunks → Responses output items and stream events.

One assembler serves both paths: a streamed reply is fed chunk by chunk, a non-streamed reply
is fed as its single object. So text, thinking and every tool call are kept the same way in
both (the original kept only the first streamed tool call and lost calls next to text).

Ollama streams thinking fragments, then content fragments, then the tool calls as one complete
chunk, then a final ``done: true`` chunk carrying ``done_reason`` and the token counts. Output
items come out in that order: reasoning, message, function calls. Item ids are the SDK's
``FAKE_RESPONSES_ID`` placeholder (as for every non-Responses backend), so a conversation can
later move to the OpenAI Responses API without sending ids OpenAI never issued.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from agents.items import TResponseOutputItem, TResponseStreamEvent
from agents.models.fake_id import FAKE_RESPONSES_ID
from agents.usage import Usage
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseReasoningTextDeltaEvent,
    ResponseReasoningTextDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_reasoning_item import Content
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

__all__ = ["ResponseAssembler", "new_call_id"]


def new_call_id() -> str:
    """A fresh tool-call id in OpenAI's shape, for servers that send none.

    Random, not counter-based: call ids must stay unique across every turn of a run and its
    resumed lineage. Durable runs record the model response, so a replay reuses the same id.
    """
    return f"call_{uuid.uuid4().hex[:24]}"


class ResponseAssembler:
    """Accumulates one Ollama reply and emits Responses events with increasing sequence numbers.

    Args:
        model: The model name reported in the ``Response`` objects.
        temperature: Echoed into the ``Response`` like the SDK's own adapters do.
        top_p: Echoed into the ``Response``.
    """

    def __init__(
        self, model: str, *, temperature: float | None = None, top_p: float | None = None
    ) -> None:
        self._sequence = 0
        self._output: list[TResponseOutputItem] = []
        self._open: Literal["reasoning", "message"] | None = None
        self._open_index = -1
        self._buffer = ""
        self._usage: Usage | None = None
        self.done_reason: str | None = None
        self.response = Response(
            id=FAKE_RESPONSES_ID,
            created_at=time.time(),
            model=model,
            object="response",
            output=[],
            tool_choice="auto",
            tools=[],
            parallel_tool_calls=False,
            status="in_progress",
            temperature=temperature,
            top_p=top_p,
        )

    @property
    def output(self) -> list[TResponseOutputItem]:
        """The output items completed so far (all of them after :meth:`finish`)."""
        return list(self._output)

    @property
    def usage(self) -> Usage:
        """Token usage from the final chunk; one request with zero tokens if none was sent."""
        return self._usage if self._usage is not None else Usage(requests=1)

    def start(self) -> list[TResponseStreamEvent]:
        """Events announcing the response."""
        return [
            ResponseCreatedEvent(
                response=self.response, type="response.created", sequence_number=self._next()
            ),
            ResponseInProgressEvent(
                response=self.response, type="response.in_progress", sequence_number=self._next()
            ),
        ]

    def feed(self, chunk: Mapping[str, Any]) -> list[TResponseStreamEvent]:
        """Consume one reply object (a stream chunk or a whole non-streamed reply)."""
        events: list[TResponseStreamEvent] = []
        message = chunk.get("message") or {}
        thinking = message.get("thinking")
        if isinstance(thinking, str) and thinking:
            events += self._delta("reasoning", thinking)
        content = message.get("content")
        if isinstance(content, str) and content:
            events += self._delta("message", content)
        for call in message.get("tool_calls") or []:
            events += self._close()
            events += self._tool_call(call)
        if chunk.get("done"):
            self.done_reason = chunk.get("done_reason")
            input_tokens = int(chunk.get("prompt_eval_count") or 0)
            output_tokens = int(chunk.get("eval_count") or 0)
            self._usage = Usage(
                requests=1,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                total_tokens=input_tokens + output_tokens,
            )
        return events

    def finish(self) -> list[TResponseStreamEvent]:
        """Close any open item and emit ``response.completed`` with every item and the usage."""
        events = self._close()
        usage = self.usage
        final = self.response.model_copy(
            update={
                "output": list(self._output),
                "status": "completed",
                "usage": ResponseUsage(
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    total_tokens=usage.total_tokens,
                    input_tokens_details=InputTokensDetails.model_validate(
                        # cache_write_tokens is required by openai 3.x, unknown to older ones.
                        {"cached_tokens": 0, "cache_write_tokens": 0}
                    ),
                    output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
                ),
            }
        )
        events.append(
            ResponseCompletedEvent(
                response=final, type="response.completed", sequence_number=self._next()
            )
        )
        return events

    def _next(self) -> int:
        number = self._sequence
        self._sequence += 1
        return number

    def _delta(
        self, kind: Literal["reasoning", "message"], text: str
    ) -> list[TResponseStreamEvent]:
        events: list[TResponseStreamEvent] = []
        if self._open != kind:
            events += self._close()
            events += self._open_item(kind)
        self._buffer += text
        index = self._open_index
        if kind == "reasoning":
            events.append(
                ResponseReasoningTextDeltaEvent(
                    delta=text,
                    item_id=FAKE_RESPONSES_ID,
                    output_index=index,
                    content_index=0,
                    type="response.reasoning_text.delta",
                    sequence_number=self._next(),
                )
            )
        else:
            events.append(
                ResponseTextDeltaEvent(
                    delta=text,
                    item_id=FAKE_RESPONSES_ID,
                    output_index=index,
                    content_index=0,
                    logprobs=[],
                    type="response.output_text.delta",
                    sequence_number=self._next(),
                )
            )
        return events

    def _open_item(self, kind: Literal["reasoning", "message"]) -> list[TResponseStreamEvent]:
        self._open = kind
        self._open_index = len(self._output)
        self._buffer = ""
        if kind == "reasoning":
            added: TResponseOutputItem = ResponseReasoningItem(
                id=FAKE_RESPONSES_ID, summary=[], content=[], type="reasoning"
            )
            return [self._added(added)]
        message = ResponseOutputMessage(
            id=FAKE_RESPONSES_ID, content=[], role="assistant", type="message", status="in_progress"
        )
        return [
            self._added(message),
            ResponseContentPartAddedEvent(
                content_index=0,
                item_id=FAKE_RESPONSES_ID,
                output_index=self._open_index,
                part=_text(""),
                type="response.content_part.added",
                sequence_number=self._next(),
            ),
        ]

    def _close(self) -> list[TResponseStreamEvent]:
        if self._open is None:
            return []
        index, text = self._open_index, self._buffer
        events: list[TResponseStreamEvent] = []
        item: TResponseOutputItem
        if self._open == "reasoning":
            events.append(
                ResponseReasoningTextDoneEvent(
                    text=text,
                    item_id=FAKE_RESPONSES_ID,
                    output_index=index,
                    content_index=0,
                    type="response.reasoning_text.done",
                    sequence_number=self._next(),
                )
            )
            item = ResponseReasoningItem(
                id=FAKE_RESPONSES_ID,
                summary=[],
                content=[Content(text=text, type="reasoning_text")],
                type="reasoning",
            )
        else:
            events.append(
                ResponseTextDoneEvent(
                    text=text,
                    item_id=FAKE_RESPONSES_ID,
                    output_index=index,
                    content_index=0,
                    logprobs=[],
                    type="response.output_text.done",
                    sequence_number=self._next(),
                )
            )
            events.append(
                ResponseContentPartDoneEvent(
                    content_index=0,
                    item_id=FAKE_RESPONSES_ID,
                    output_index=index,
                    part=_text(text),
                    type="response.content_part.done",
                    sequence_number=self._next(),
                )
            )
            item = ResponseOutputMessage(
                id=FAKE_RESPONSES_ID,
                content=[_text(text)],
                role="assistant",
                type="message",
                status="completed",
            )
        self._output.append(item)
        events.append(self._done(item, index))
        self._open = None
        self._buffer = ""
        return events

    def _tool_call(self, call: Mapping[str, Any]) -> list[TResponseStreamEvent]:
        function = call.get("function") or {}
        raw_arguments = function.get("arguments")
        arguments = (
            raw_arguments
            if isinstance(raw_arguments, str)
            else json.dumps(raw_arguments if raw_arguments is not None else {})
        )
        call_id = call.get("id") or new_call_id()
        name = str(function.get("name", ""))
        index = len(self._output)

        def item(args: str) -> ResponseFunctionToolCall:
            return ResponseFunctionToolCall(
                id=FAKE_RESPONSES_ID,
                call_id=str(call_id),
                name=name,
                arguments=args,
                type="function_call",
                status="completed",
            )

        done = item(arguments)
        self._output.append(done)
        return [
            self._added(item(""), index),
            ResponseFunctionCallArgumentsDeltaEvent(
                delta=arguments,
                item_id=FAKE_RESPONSES_ID,
                output_index=index,
                type="response.function_call_arguments.delta",
                sequence_number=self._next(),
            ),
            ResponseFunctionCallArgumentsDoneEvent(
                arguments=arguments,
                item_id=FAKE_RESPONSES_ID,
                output_index=index,
                type="response.function_call_arguments.done",
                sequence_number=self._next(),
            ),
            self._done(done, index),
        ]

    def _added(self, item: TResponseOutputItem, index: int | None = None) -> TResponseStreamEvent:
        return ResponseOutputItemAddedEvent(
            item=item,
            output_index=self._open_index if index is None else index,
            type="response.output_item.added",
            sequence_number=self._next(),
        )

    def _done(self, item: TResponseOutputItem, index: int) -> TResponseStreamEvent:
        return ResponseOutputItemDoneEvent(
            item=item,
            output_index=index,
            type="response.output_item.done",
            sequence_number=self._next(),
        )


def _text(text: str) -> ResponseOutputText:
    return ResponseOutputText(text=text, type="output_text", annotations=[], logprobs=[])
