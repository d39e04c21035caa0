"""Typed rows of the ``run_states`` table and the helpers shared by every backend."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal, TypeGuard, get_args

from timestep.errors import SnapshotFormatError, UserError

__all__ = [
    "PYTHON_WRITER",
    "STATE_TYPES",
    "SnapshotRow",
    "StateType",
    "check_key",
    "check_state_type",
    "dumps_json",
    "schema_version_of",
]

StateType = Literal["interrupted", "checkpoint", "final"]
"""What a snapshot is: paused on approvals, a mid-run checkpoint, or a finished run."""

STATE_TYPES: tuple[StateType, ...] = get_args(StateType)

_SCHEMA_VERSION = re.compile(r"^[0-9]+\.[0-9]+$")


def _agents_version() -> str:
    try:
        return version("openai-agents")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"


PYTHON_WRITER = f"python/openai-agents {_agents_version()}"
"""The ``writer`` recorded next to ``native_data``. Python restores a snapshot from its native
JSON (lossless) only when the row's writer equals this string; any other row is decoded from the
JS form, which is the cross-language contract."""


@dataclass(frozen=True)
class SnapshotRow:
    """One row of ``run_states``.

    Attributes:
        id: The row's UUID (text).
        run_id: The key: the session id when the run has one, else the run id.
        state_type: ``interrupted``, ``checkpoint`` or ``final``.
        schema_version: The JS ``$schemaVersion`` of ``state_data`` (e.g. ``"1.22"``).
        state_data: The RunState in the JS SDK's JSON form (what ``RunState.fromString`` reads).
        is_active: True for the one current snapshot of the key; older rows are history.
        created_at: When the row was written (UTC).
        resumed_at: When the row was last loaded for resumption (UTC), or None.
        native_data: Python's own ``RunState.to_json()`` of the same state, when Python wrote it.
        writer: Who wrote ``native_data`` (e.g. ``"python/openai-agents 0.24.0"``), or None.
        resumed_by: Who claimed the row when setting ``resumed_at``, if it named itself.
    """

    id: str
    run_id: str
    state_type: StateType
    schema_version: str
    state_data: dict[str, Any]
    is_active: bool
    created_at: datetime
    resumed_at: datetime | None
    native_data: dict[str, Any] | None = None
    writer: str | None = None
    resumed_by: str | None = None

    @property
    def key(self) -> str:
        """Alias of ``run_id``: the snapshot key."""
        return self.run_id

    @property
    def has_native(self) -> bool:
        """True when ``native_data`` can be used by this Python (same writer)."""
        return self.native_data is not None and self.writer == PYTHON_WRITER


def is_state_type(value: object) -> TypeGuard[StateType]:
    return value in STATE_TYPES


def check_state_type(value: object) -> StateType:
    if not is_state_type(value):
        raise UserError(f"state_type must be one of {', '.join(STATE_TYPES)}; got {value!r}.")
    return value


def check_key(key: object) -> str:
    """Validate a snapshot key (``run_id``)."""
    if not isinstance(key, str) or not key.strip():
        raise UserError(
            f"A snapshot key must be a non-empty string (a session id or run id); got {key!r}."
        )
    if "\x00" in key:
        raise UserError("A snapshot key cannot contain NUL characters.")
    return key


def schema_version_of(state_data: dict[str, Any], explicit: str | None = None) -> str:
    """The ``schema_version`` column for ``state_data``: its ``$schemaVersion`` unless given."""
    value = explicit if explicit is not None else state_data.get("$schemaVersion")
    if not isinstance(value, str) or not _SCHEMA_VERSION.match(value) or len(value) > 20:
        raise SnapshotFormatError(
            f"schema_version must look like '1.22' (digits.digits); got {value!r}. The JS-form "
            "state_data carries it as '$schemaVersion'."
        )
    return value


def dumps_json(value: Any, what: str) -> str:
    """Serialise to strict JSON (no NaN/Infinity, which Postgres and Node reject)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SnapshotFormatError(f"{what} is not JSON-serialisable: {exc}") from exc
