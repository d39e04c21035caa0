"""The demo's agent module: ``timestep worker timestep.demo.app`` serves it.

A refunds agent with two tools: ``lookup_order`` runs freely, ``refund`` needs a human's
approval. Both log every execution, and hooks log every turn and tool call the SDK goes
through, executed or replayed (see ``_log.py``), so the demo can count them. The model is
the built-in scripted one unless ``TIMESTEP_DEMO_MODEL`` names another (``ollama/llama3.2``,
``openai/gpt-4.1-mini``); every worker reads the same variable, so they all agree.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from agents import Agent, AgentHooks, RunContextWrapper, function_tool
from agents.items import ModelResponse

import timestep
from timestep.demo._log import record
from timestep.demo._model import SCRIPTED_MODEL, DemoModelProvider

__all__ = ["MODEL", "ORDERS", "Witness", "lookup_order", "refund", "refunds"]

MODEL_ENV = "TIMESTEP_DEMO_MODEL"
MODEL = os.environ.get(MODEL_ENV) or SCRIPTED_MODEL

ORDERS: dict[str, dict[str, object]] = {
    "A-1001": {
        "customer": "Ada Lovelace",
        "item": "mechanical keyboard",
        "amount_cents": 12900,
        "status": "delivered damaged",
    },
    "A-1002": {
        "customer": "Alan Turing",
        "item": "desk lamp",
        "amount_cents": 3450,
        "status": "in transit",
    },
}


@function_tool
def lookup_order(order_id: str) -> str:
    """Look an order up by its id (for example A-1001)."""
    record("tool", "lookup_order")
    order = ORDERS.get(order_id.strip().upper())
    if order is None:
        return json.dumps({"order_id": order_id, "error": "no such order"})
    return json.dumps({"order_id": order_id.strip().upper(), **order})


@function_tool(needs_approval=True)
def refund(order_id: str, amount_cents: int) -> str:
    """Refund an order's amount in cents to the customer. A human must approve each refund."""
    record("tool", "refund")
    # The idempotency key is stable across replays of this call: a payment API given it as its
    # idempotency key would refund once even if this step ran again after a crash.
    key = timestep.idempotency_key()
    reference = "RF-" + hashlib.sha256(key.encode()).hexdigest()[:8].upper()
    return f"Refunded {amount_cents / 100:.2f} USD on order {order_id} (reference {reference})."


class Witness(AgentHooks[Any]):
    """Logs each turn and tool call the run goes through. Hooks run in workflow code, so they
    fire again when a restarted worker replays the run - unlike the model and the tools."""

    async def on_llm_end(
        self, context: RunContextWrapper[Any], agent: Agent[Any], response: ModelResponse
    ) -> None:
        record("turn", agent.name)

    async def on_tool_end(
        self, context: RunContextWrapper[Any], agent: Agent[Any], tool: Any, result: object
    ) -> None:
        record("passed", str(getattr(tool, "name", "?")))


refunds = Agent(
    name="Refunds",
    instructions=(
        "You handle refund requests. First call lookup_order with the order id. If the order "
        "exists, call refund with its order_id and its full amount_cents. Then tell the customer "
        "what happened in one or two sentences."
    ),
    tools=[lookup_order, refund],
    model=MODEL,
    hooks=Witness(),
)

timestep.register_agent(refunds, model_provider=DemoModelProvider())
