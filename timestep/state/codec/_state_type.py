"""Which kind of snapshot a Python RunState is (the ``run_states.state_type`` column)."""

from __future__ import annotations

from typing import Any, Literal

from agents import RunState

__all__ = ["StateType", "py_state_type"]

StateType = Literal["interrupted", "final", "checkpoint"]


def py_state_type(state: RunState[Any]) -> StateType:
    """``interrupted`` when approvals are pending; ``final`` when the run finished (a model
    responded and no further step is pending, which is how ``RunResult.to_state()`` leaves a
    completed run); ``checkpoint`` otherwise (a fresh state, or a ``run_again`` step)."""
    if state.get_interruptions():
        return "interrupted"
    # RunState exposes no public "is finished" flag in 0.24.0; these private fields are what
    # to_json() writes as current_step / model_responses.
    if getattr(state, "_current_step", None) is None and getattr(state, "_model_responses", None):
        return "final"
    return "checkpoint"
