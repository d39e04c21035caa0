"""Guardrail results. Both SDKs already use the same camelCase record for input and output
guardrails (Python 0.24.0 ``_serialize_guardrail_results`` mirrors JS ``inputGuardrailResultSchema``
/ ``outputGuardrailResultSchema``), so only agent references are checked. Tool guardrail results
differ in shape and are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from timestep.state.codec._common import (
    JsonObject,
    agent_name,
    agent_ref,
    as_list,
    as_object,
    refuse,
)

__all__ = ["convert_results", "refuse_tool_guardrail_results"]


def convert_results(
    results: Any, kind: str, where: str, known_agents: frozenset[str] | None = None
) -> list[JsonObject]:
    """Copy ``input``/``output`` guardrail results, validating their shape."""
    out: list[JsonObject] = []
    for n, entry in enumerate(as_list(results or [], where)):
        entry = as_object(entry, f"{where}[{n}]")
        guardrail = as_object(entry.get("guardrail"), f"{where}[{n}].guardrail")
        output = as_object(entry.get("output"), f"{where}[{n}].output")
        record: JsonObject = {
            "guardrail": {"type": kind, "name": str(guardrail.get("name", ""))},
            "output": {
                "tripwireTriggered": bool(output.get("tripwireTriggered", False)),
                "outputInfo": output.get("outputInfo"),
            },
        }
        if kind == "output":
            record["agentOutput"] = entry.get("agentOutput")
            record["agent"] = agent_ref(
                agent_name(entry.get("agent"), f"{where}[{n}].agent", known_agents)
            )
        out.append(record)
    return out


def refuse_tool_guardrail_results(results: Sequence[tuple[str, Any]]) -> None:
    for where, value in results:
        if value:
            refuse("tool guardrail results", f"{where} is not empty")
