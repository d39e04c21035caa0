"""``run_agent`` and ``consume_result``: a thin facade over the SDK's ``Runner``.

Non-durable: a crash loses the run. For crash-safe runs use ``timestep.start_run``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast, overload

from agents import Agent, RunConfig, Runner, RunResult, RunResultStreaming, RunState
from agents.items import TResponseInputItem
from agents.memory import Session
from agents.models.interface import ModelProvider

from timestep.errors import InterruptionException, UserError

__all__ = ["consume_result", "run_agent"]

RunInput = str | Sequence[TResponseInputItem] | RunState[Any]


def _append_session_input(
    history: list[TResponseInputItem], new_input: list[TResponseInputItem]
) -> list[TResponseInputItem]:
    # Required by the SDK whenever a session is combined with list input: history, then the turn.
    return [*history, *new_input]


def build_run_config(
    model_provider: ModelProvider | None = None, run_config: RunConfig | None = None
) -> RunConfig:
    """The RunConfig timestep uses: our model routing, flat handoff history, appended input."""
    if run_config is None:
        if model_provider is None:
            from timestep.models import MultiModelProvider

            model_provider = MultiModelProvider()
        return RunConfig(
            model_provider=model_provider,
            nest_handoff_history=False,
            session_input_callback=_append_session_input,
        )
    if model_provider is not None:
        raise UserError("Pass model_provider or run_config, not both (set run_config.model_provider).")
    return run_config


@overload
async def run_agent(
    agent: Agent[Any],
    input_or_state: RunInput,
    session: Session | None = ...,
    stream: Literal[False] = ...,
    *,
    model_provider: ModelProvider | None = ...,
    run_config: RunConfig | None = ...,
    context: Any = ...,
    max_turns: int | None = ...,
    raise_on_interruption: bool = ...,
) -> RunResult: ...


@overload
async def run_agent(
    agent: Agent[Any],
    input_or_state: RunInput,
    session: Session | None,
    stream: Literal[True],
    *,
    model_provider: ModelProvider | None = ...,
    run_config: RunConfig | None = ...,
    context: Any = ...,
    max_turns: int | None = ...,
    raise_on_interruption: bool = ...,
) -> RunResultStreaming: ...


@overload
async def run_agent(
    agent: Agent[Any],
    input_or_state: RunInput,
    session: Session | None,
    stream: bool,
    *,
    model_provider: ModelProvider | None = ...,
    run_config: RunConfig | None = ...,
    context: Any = ...,
    max_turns: int | None = ...,
    raise_on_interruption: bool = ...,
) -> RunResult | RunResultStreaming: ...


async def run_agent(
    agent: Agent[Any],
    input_or_state: RunInput,
    session: Session | None = None,
    stream: bool = False,
    *,
    model_provider: ModelProvider | None = None,
    run_config: RunConfig | None = None,
    context: Any = None,
    max_turns: int | None = None,
    raise_on_interruption: bool = False,
) -> RunResult | RunResultStreaming:
    """Run ``agent`` on a list of input items (or a string), or resume a ``RunState``.

    Args:
        agent: The starting agent (for a ``RunState``, the agent graph it belongs to).
        input_or_state: Input items, a user string, or a ``RunState`` to resume.
        session: Conversation memory (any SDK ``Session``); history is prepended to the input.
        stream: Return a ``RunResultStreaming`` (drain it, or pass it to ``consume_result``).
        model_provider: Defaults to ``MultiModelProvider()`` (``openai/…``, ``ollama/…``).
        run_config: A full SDK ``RunConfig`` instead of timestep's defaults.
        context: The run context object (a dict crosses to the JS SDK; other types do not).
        max_turns: Turn limit (SDK default when None).
        raise_on_interruption: Raise ``InterruptionException`` when tools await approval. For a
            streamed run this needs the stream drained, so it is applied by ``consume_result``.

    Returns:
        The SDK's ``RunResult`` or ``RunResultStreaming``.
    """
    if isinstance(input_or_state, str | RunState):
        run_input: str | list[TResponseInputItem] | RunState[Any] = input_or_state
    elif isinstance(input_or_state, Sequence):
        run_input = list(cast(Sequence[TResponseInputItem], input_or_state))
    else:
        raise UserError(
            f"run_agent takes input items, a string or a RunState, not {type(input_or_state).__name__}."
        )
    config = build_run_config(model_provider, run_config)
    kwargs: dict[str, Any] = {"context": context, "run_config": config, "session": session}
    if max_turns is not None:
        kwargs["max_turns"] = max_turns
    if stream:
        streamed = Runner.run_streamed(agent, run_input, **kwargs)
        if raise_on_interruption:
            streamed._timestep_raise_on_interruption = True  # type: ignore[attr-defined]
        return streamed
    result = await Runner.run(agent, run_input, **kwargs)
    if raise_on_interruption:
        _raise_if_interrupted(result)
    return result


@overload
async def consume_result(result: RunResultStreaming) -> RunResultStreaming: ...
@overload
async def consume_result(result: RunResult) -> RunResult: ...


async def consume_result(result: RunResult | RunResultStreaming) -> RunResult | RunResultStreaming:
    """Drain a streamed result and wait until the run is complete; a no-op for ``RunResult``.

    Errors raised inside the streamed run (model failures, guardrail trips) are re-raised here.
    """
    if isinstance(result, RunResultStreaming):
        async for _ in result.stream_events():
            pass
        if getattr(result, "_timestep_raise_on_interruption", False):
            _raise_if_interrupted(result)
    return result


def _raise_if_interrupted(result: RunResult | RunResultStreaming) -> None:
    if result.interruptions:
        names = ", ".join(sorted({item.name or "?" for item in result.interruptions}))
        raise InterruptionException(
            f"The run is waiting for approval of {len(result.interruptions)} tool call(s): {names}. "
            "Approve or reject them on the state and resume it with run_agent.",
            interruptions=result.interruptions,
            state=result.to_state(),
        )
