"""``OllamaModel``: the Agents SDK ``Model`` interface over Ollama's native ``/api/chat``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.models._trace import model_config_for_trace
from agents.models.interface import Model, ModelTracing
from agents.retry import ModelRetryAdvice, ModelRetryAdviceRequest, ModelRetryNormalizedError
from agents.tool import Tool
from agents.tracing import generation_span
from openai.types.responses import ResponseCompletedEvent
from openai.types.responses.response_prompt_param import ResponsePromptParam

from timestep.errors import (
    ConfigurationError,
    ModelConnectionError,
    ModelResponseError,
    ModelTimeoutError,
    UserError,
)
from timestep.models._ollama_convert import ChatRequest, build_chat_request
from timestep.models._ollama_hosts import DEFAULT_LOCAL_HOST, normalize_host
from timestep.models._ollama_http import DEFAULT_TIMEOUT, OllamaConnection, TimeoutLike
from timestep.models._ollama_stream import ResponseAssembler

if TYPE_CHECKING:
    import ollama
    from agents.model_settings import ModelSettings

__all__ = ["OllamaModel"]


class OllamaModel(Model):
    """An Agents SDK model served by Ollama (local daemon or Ollama Cloud).

    Usually obtained from ``OllamaModelProvider`` / ``MultiModelProvider("ollama/<name>")``.
    Built directly, it talks to ``ollama_client``'s host, or to ``OLLAMA_HOST`` /
    ``http://localhost:11434``.

    Mapping, in short: settings go into ``options`` (``max_tokens`` → ``num_predict``; extra
    args such as ``seed``, ``stop``, ``num_ctx`` too, while ``keep_alive``/``think``/``format``
    stay top-level); ``reasoning.effort`` → ``think``; an output type → ``format`` (JSON
    schema); handoffs are offered as function tools; ``tool_choice`` is approximated (Ollama has
    none, see ``tools_to_ollama``). Ignored, as Ollama has no equivalent: ``parallel_tool_calls``,
    ``truncation``, ``store``, ``metadata``, ``verbosity``, ``top_logprobs``, prompt caching.
    Server-side conversation state (``previous_response_id``, ``conversation_id``) and reusable
    ``prompt`` objects are refused: Ollama keeps no history, so they would silently lose context;
    use a ``Session`` instead.

    Args:
        model: The Ollama model name (``llama3.2``, ``hf.co/org/model:q4``).
        ollama_client: An ``ollama.AsyncClient``; its host, headers and transport are reused.
        connection: Internal: the provider's connection for the host chosen for this model.
        timeout: Per-request timeout when no ``connection`` is given (default 300 s read,
            10 s connect).
    """

    def __init__(
        self,
        model: str,
        ollama_client: ollama.AsyncClient | None = None,
        *,
        connection: OllamaConnection | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
    ) -> None:
        if not model:
            raise ConfigurationError("OllamaModel needs a model name, e.g. 'llama3.2'.")
        if ollama_client is not None and connection is not None:
            raise ConfigurationError("Pass ollama_client or connection to OllamaModel, not both.")
        self.model = model
        if connection is not None:
            self._connection = connection
        elif ollama_client is not None:
            self._connection = OllamaConnection.from_ollama_client(ollama_client, timeout=timeout)
        else:
            host = os.environ.get("OLLAMA_HOST")
            self._connection = OllamaConnection(
                normalize_host(host) if host else DEFAULT_LOCAL_HOST, timeout=timeout
            )

    @property
    def host(self) -> str:
        """The base URL this model's requests go to."""
        return self._connection.host

    def __repr__(self) -> str:
        return f"OllamaModel(model={self.model!r}, host={self.host!r})"

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> ModelResponse:
        """Send one non-streamed chat request and return its output items and usage."""
        _refuse_server_state(previous_response_id, conversation_id, prompt)
        request = self._request(
            system_instructions, input, model_settings, tools, output_schema, handoffs, False
        )
        with generation_span(
            model=self.model,
            model_config=model_config_for_trace(model_settings, tracing, base_url=self.host),
            disabled=tracing.is_disabled(),
        ) as span:
            if tracing.include_data():
                span.span_data.input = request.body["messages"]
            reply = await self._connection.chat(
                request.body, model=self.model, headers=request.headers, params=request.params
            )
            assembler = self._assembler(model_settings)
            assembler.feed(reply)
            assembler.finish()
            usage = assembler.usage
            span.span_data.usage = {
                "requests": 1,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "total_tokens": usage.total_tokens,
            }
            if tracing.include_data():
                span.span_data.output = [item.model_dump() for item in assembler.output]
            # Ollama has no response ids to chain with previous_response_id.
            return ModelResponse(output=assembler.output, usage=usage, response_id=None)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        """Stream one chat request as Responses events ending with ``response.completed``."""
        _refuse_server_state(previous_response_id, conversation_id, prompt)
        request = self._request(
            system_instructions, input, model_settings, tools, output_schema, handoffs, True
        )
        with generation_span(
            model=self.model,
            model_config=model_config_for_trace(model_settings, tracing, base_url=self.host),
            disabled=tracing.is_disabled(),
        ) as span:
            if tracing.include_data():
                span.span_data.input = request.body["messages"]
            assembler = self._assembler(model_settings)
            chunks = self._connection.chat_stream(
                request.body, model=self.model, headers=request.headers, params=request.params
            )
            started = False
            # aclosing: a consumer that stops early releases the HTTP connection right away.
            async with aclosing(chunks):
                async for chunk in chunks:
                    if not started:
                        # Announce only once the server accepted the request, so an HTTP error
                        # surfaces before any event (the runner can then retry cleanly).
                        started = True
                        for event in assembler.start():
                            yield event
                    for event in assembler.feed(chunk):
                        yield event
            for event in assembler.finish():
                if isinstance(event, ResponseCompletedEvent):
                    usage = assembler.usage
                    span.span_data.usage = {
                        "requests": 1,
                        "input_tokens": usage.input_tokens,
                        "output_tokens": usage.output_tokens,
                        "total_tokens": usage.total_tokens,
                    }
                    if tracing.include_data():
                        span.span_data.output = [event.response.model_dump()]
                yield event

    def get_retry_advice(self, request: ModelRetryAdviceRequest) -> ModelRetryAdvice | None:
        """Tell the SDK's retry policies which Ollama failures are worth retrying."""
        error = request.error
        status = error.status_code if isinstance(error, ModelResponseError) else None
        normalized = ModelRetryNormalizedError(
            status_code=status,
            message=str(error),
            is_network_error=isinstance(error, ModelConnectionError),
            is_timeout=isinstance(error, ModelTimeoutError),
        )
        if isinstance(error, ModelConnectionError | ModelTimeoutError):
            return ModelRetryAdvice(suggested=True, reason=str(error), normalized=normalized)
        if status is not None and (status in (408, 429) or status >= 500):
            return ModelRetryAdvice(suggested=True, reason=str(error), normalized=normalized)
        return None

    async def close(self) -> None:
        """Models share their provider's connection; the provider closes it (``aclose``)."""
        return None

    def _request(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        stream: bool,
    ) -> ChatRequest:
        return build_chat_request(
            model=self.model,
            system_instructions=system_instructions,
            input=input,
            model_settings=model_settings,
            tools=tools,
            output_schema=output_schema,
            handoffs=handoffs,
            stream=stream,
        )

    def _assembler(self, model_settings: ModelSettings) -> ResponseAssembler:
        return ResponseAssembler(
            self.model, temperature=model_settings.temperature, top_p=model_settings.top_p
        )


def _refuse_server_state(
    previous_response_id: str | None,
    conversation_id: str | None,
    prompt: ResponsePromptParam | None,
) -> None:
    # With these, the SDK sends only the new items and expects the server to hold the rest;
    # Ollama holds nothing, so the model would answer without the conversation.
    used = [
        name
        for name, value in (
            ("previous_response_id", previous_response_id),
            ("conversation_id", conversation_id),
            ("prompt", prompt),
        )
        if value is not None
    ]
    if used:
        raise UserError(
            f"Ollama models do not support {', '.join(used)} (OpenAI Responses server-side "
            "state). Keep the history in a Session (e.g. SQLiteSession) instead."
        )
