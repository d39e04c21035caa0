"""Agents are code: a process registers them by name, and a durable run names its agent.

A worker imports the user's module (whose ``register_agent`` calls run at import), so a fresh
process rebuilds tools, guardrails and handoffs from code rather than from a database. For each
registered agent we build, once, a durable twin of the whole graph: function tools become steps
and ``Model`` instances become step-recording models. The user's objects are never mutated.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

from agents import Agent, Handoff, RunConfig
from agents.models.interface import Model, ModelProvider
from agents.tool import FunctionTool, Tool

from timestep.durable._model import DurableModel
from timestep.durable._tools import durable_function_tool
from timestep.errors import UserError

__all__ = [
    "Registration",
    "durable_agent",
    "get_registered",
    "register_agent",
    "registered_names",
    "registration",
]


@dataclass(frozen=True)
class Registration:
    """A registered agent, its durable twin, and how its runs reach models."""

    agent: Agent[Any]
    durable: Agent[Any]
    model_provider: ModelProvider | None = None
    run_config: RunConfig | None = None


_lock = threading.Lock()
_registered: dict[str, Registration] = {}

# Local tools that run in this process and could carry side effects we cannot checkpoint.
_HOSTED_TOOL_TYPES = ("FileSearchTool", "WebSearchTool", "HostedMCPTool", "CodeInterpreterTool",
                      "ImageGenerationTool", "ToolSearchTool")


def register_agent(
    agent: Agent[Any],
    *,
    model_provider: ModelProvider | None = None,
    run_config: RunConfig | None = None,
    replace: bool = False,
) -> Agent[Any]:
    """Make ``agent`` (and the agents it hands off to) startable by name in durable runs.

    Call it at import time of the module that defines the agent, so that every worker that
    imports the module knows it. Returns ``agent`` unchanged.

    Args:
        agent: The starting agent; its tools, guardrails and handoffs come along.
        model_provider: How its runs reach models (default ``MultiModelProvider()``).
        run_config: A full SDK RunConfig instead (its provider is wrapped to record steps).
        replace: Swap an agent already registered under this name.

    Raises:
        UserError: another agent is registered under the same name (pass ``replace=True`` to
            swap it), or the agent uses a tool type durable runs cannot checkpoint.
    """
    if not isinstance(agent, Agent):
        raise UserError(f"register_agent takes an agents.Agent, not {type(agent).__name__}.")
    if model_provider is not None and run_config is not None:
        raise UserError("Pass model_provider or run_config, not both (set run_config.model_provider).")
    durable = _build_durable_graph(agent, {})
    with _lock:
        existing = _registered.get(agent.name)
        if existing is not None and existing.agent is not agent and not replace:
            raise UserError(
                f"An agent named {agent.name!r} is already registered. Agent names identify "
                "durable runs, so they must be unique; pass replace=True to swap it."
            )
        _registered[agent.name] = Registration(agent, durable, model_provider, run_config)
    return agent


def registration(name: str) -> Registration:
    with _lock:
        reg = _registered.get(name)
        known = sorted(_registered)
    if reg is None:
        raise UserError(
            f"No agent named {name!r} is registered in this process (known: {', '.join(known) or 'none'}). "
            "Import the module that calls timestep.register_agent for it."
        )
    return reg


def get_registered(name: str) -> Agent[Any]:
    return registration(name).agent


def durable_agent(name: str) -> Agent[Any]:
    return registration(name).durable


def registered_names() -> list[str]:
    with _lock:
        return sorted(_registered)


def _build_durable_graph(agent: Agent[Any], memo: dict[int, Agent[Any]]) -> Agent[Any]:
    done = memo.get(id(agent))
    if done is not None:
        return done
    # Register the clone before recursing: handoff graphs may be cyclic.
    clone = agent.clone()
    memo[id(agent)] = clone
    clone.tools = [_durable_tool(agent, tool) for tool in agent.tools]
    clone.handoffs = [_durable_handoff(h, memo) for h in agent.handoffs]
    if isinstance(agent.model, Model) and not isinstance(agent.model, DurableModel):
        clone.model = DurableModel(agent.model, step_name=f"model:{agent.name}")
    return clone


def _durable_tool(agent: Agent[Any], tool: Tool) -> Tool:
    if isinstance(tool, FunctionTool):
        return durable_function_tool(tool)
    if type(tool).__name__ in _HOSTED_TOOL_TYPES:
        return tool  # executed by the model provider, recorded inside the model step
    raise UserError(
        f"Agent {agent.name!r} uses a {type(tool).__name__}, which durable runs cannot checkpoint. "
        "Use function tools (each call becomes a durable step) or hosted tools."
    )


def _durable_handoff(target: Agent[Any] | Handoff[Any, Any], memo: dict[int, Agent[Any]]) -> Any:
    if isinstance(target, Agent):
        return _build_durable_graph(target, memo)
    original = target.on_invoke_handoff

    async def invoke(ctx: Any, input_json: str) -> Agent[Any]:
        chosen = await original(ctx, input_json)
        return _build_durable_graph(chosen, memo) if isinstance(chosen, Agent) else chosen

    return dataclasses.replace(target, on_invoke_handoff=invoke)
