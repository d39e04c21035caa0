"""Every model call of a durable run is one DBOS step whose recorded output is the response.

On replay DBOS returns the recorded ``ModelResponse`` instead of calling the model again, so a
crash never re-bills a completed turn.
"""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator
from typing import Any

from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.model_settings import ModelSettings
from agents.models.interface import Model, ModelProvider, ModelTracing
from agents.tool import Tool
from dbos import DBOS

from timestep.durable._failpoints import failpoint
from timestep.durable._scope import current_scope, function_call_ids, reserve_tool_steps
from timestep.errors import ModelError, ModelResponseError, TimestepError

__all__ = ["DurableModel", "DurableModelProvider"]


class DurableModel(Model):
    """Wraps a model so that, inside a durable run, each ``get_response`` is a DBOS step."""

    def __init__(self, inner: Model, *, step_name: str) -> None:
        self.inner = inner
        self.step_name = step_name

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: Any | None,
    ) -> ModelResponse:
        async def call_model() -> ModelResponse:
            try:
                response = await self.inner.get_response(
                    system_instructions,
                    input,
                    model_settings,
                    tools,
                    output_schema,
                    handoffs,
                    tracing,
                    previous_response_id=previous_response_id,
                    conversation_id=conversation_id,
                    prompt=prompt,
                )
            except Exception as exc:
                raise _picklable(exc) from exc
            failpoint("model_step_before_commit")  # the model answered; DBOS has not recorded it
            return response

        scope = current_scope()
        if scope is None:
            return await call_model()
        response = await DBOS.run_step_async({"name": self.step_name}, call_model)
        failpoint("model_step_after_commit")
        scope.model_turns += 1
        # Still in workflow code: fix the step ids of this turn's tool calls before the SDK
        # starts them concurrently (their start order is not deterministic).
        reserve_tool_steps(scope, function_call_ids(response.output))
        return response

    def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: Any | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        if current_scope() is not None:
            # The run workflow drives the SDK non-streamed; live events come from stream_run.
            raise TimestepError("Durable runs call models through get_response only.")
        return self.inner.stream_response(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            tracing,
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            prompt=prompt,
        )

    async def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            await close()


class DurableModelProvider(ModelProvider):
    """Wraps a provider so that every model it returns is a ``DurableModel``."""

    def __init__(self, inner: ModelProvider, *, agent_name: str | None = None) -> None:
        self.inner = inner
        self.agent_name = agent_name

    def get_model(self, model_name: str | None) -> Model:
        model = self.inner.get_model(model_name)
        if isinstance(model, DurableModel):
            return model
        return DurableModel(model, step_name=f"model:{model_name or 'default'}")

    async def aclose(self) -> None:
        await self.inner.aclose()


def _picklable(exc: Exception) -> Exception:
    """DBOS pickles a step's exception; several openai/SDK errors pickle but fail to unpickle
    (openai-python #2629). Keep ours, convert the rest to a ModelError that carries the text."""
    if isinstance(exc, TimestepError):
        return exc
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            return ModelResponseError(f"{type(exc).__name__}: {exc}", status_code=status)
        return ModelError(f"{type(exc).__name__}: {exc}")
