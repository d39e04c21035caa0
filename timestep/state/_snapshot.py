"""Turning a ``RunState`` into what is stored, and back.

Stored per snapshot: the JS form (the cross-language contract, produced by the codec) and, when
Python wrote it, Python's own ``to_json()`` (``native``). Restoring prefers ``native`` when it
was written by this very SDK version — the only lossless path within Python — and otherwise
decodes the JS form, which is what a Node program wrote or what an older/newer Python left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents import Agent, RunState
from agents.exceptions import UserError as SdkUserError

from timestep.errors import SnapshotFormatError, TimestepError, UserError
from timestep.state import codec
from timestep.state._rows import PYTHON_WRITER, StateType, check_state_type, schema_version_of
from timestep.state.codec._encode import encode_py_json

__all__ = ["EncodedState", "encode_native", "encode_state", "native_form", "restore_state"]


@dataclass(frozen=True)
class EncodedState:
    """A RunState ready to store."""

    state_data: dict[str, Any]
    native_data: dict[str, Any]
    state_type: StateType
    schema_version: str
    writer: str = PYTHON_WRITER


def encode_state(state: object) -> EncodedState:
    """Encode a RunState to both forms.

    Raises:
        UserError: ``state`` is not a ``RunState``.
        UnsupportedFeatureError: the state uses something the JS form cannot carry (from the
            codec) — refused here, at save time, rather than mis-resumed later.
    """
    return encode_native(*native_form(state))


def native_form(state: object) -> tuple[dict[str, Any], StateType]:
    """Python's ``to_json()`` of ``state`` and its snapshot state type (one SDK call each).

    Raises:
        UserError: ``state`` is not a ``RunState``, or the SDK cannot serialize it.
    """
    if not isinstance(state, RunState):
        hint = " (call result.to_state() first)" if hasattr(state, "to_state") else ""
        raise UserError(
            f"Expected an agents.RunState to save, got {type(state).__module__}."
            f"{type(state).__qualname__}{hint}."
        )
    # One SDK to_json() and one state-type check per save: encode_js would compute both again
    # (measured by ``python -m bench --only snapshot``: to_json is the largest single cost of a
    # save after the SDK's own from_json on load).
    try:
        native_data = state.to_json()
    except SdkUserError as error:  # e.g. same-name agents the SDK itself cannot tell apart
        raise UserError(f"This RunState cannot be snapshotted: {error}") from None
    return native_data, check_state_type(codec.snapshot_state_type(state))


def encode_native(native_data: dict[str, Any], state_type: StateType) -> EncodedState:
    """Both stored forms from Python's ``to_json()`` (not mutated) of a state of ``state_type``.

    Raises:
        UnsupportedFeatureError: the state uses something the JS form cannot carry.
    """
    state_data = encode_py_json(native_data, state_type=state_type)
    return EncodedState(
        state_data=state_data,
        native_data=native_data,
        state_type=state_type,
        schema_version=schema_version_of(state_data),
    )


async def restore_state(
    agent: Agent[Any],
    state_data: dict[str, Any],
    native_data: dict[str, Any] | None,
    writer: str | None,
    *,
    where: str,
    context_override: Any = None,
) -> RunState[Any]:
    """Rebuild a RunState for ``agent`` from a stored snapshot (``where`` names it in errors)."""
    if native_data is not None and writer == PYTHON_WRITER:
        try:
            return await RunState.from_json(agent, native_data, context_override=context_override)
        except TimestepError:
            raise
        except Exception as exc:
            # The SDK redacts most details ("Error details are redacted."); say what failed.
            raise SnapshotFormatError(
                f"Could not restore {where} from its native Python JSON ({writer}): "
                f"{type(exc).__name__}: {exc}. Is the agent graph the one that wrote it?"
            ) from exc
    return await codec.decode_js(agent, state_data, context_override=context_override)
