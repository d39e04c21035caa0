"""``RunStateStore``: save a paused or finished run and load it back, in Python or Node.

Two forms:

* ``RunStateStore(agent, session_id=None, connection_string=None)`` — the ``run_states`` table
  (Postgres or the embedded SQLite), keyed by ``session_id``. Without one, a fresh key is
  generated and exposed as ``store.key``; pass it as ``session_id`` to load the snapshot from
  another store, process or program.
* ``RunStateStore("state.json", agent)`` — one JSON file in the JS form plus a native sidecar
  (see ``timestep/state/_file.py``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, overload

from agents import Agent, RunState

from timestep.errors import SnapshotError, UserError
from timestep.state._file import FileSnapshot
from timestep.state._rows import SnapshotRow, check_key
from timestep.state._snapshot import encode_state, restore_state
from timestep.state.table import SnapshotTable, not_found

__all__ = ["RunStateStore"]

StrPath = str | os.PathLike[str]


class RunStateStore:
    """Saves and loads one run's ``RunState``: a row of ``run_states`` or a JSON file.

    Database form::

        store = RunStateStore(agent, session_id="conv_123")   # URL from env / default
        await store.save(result.to_state())                   # interrupted / final / checkpoint
        state = await store.load()                            # sets resumed_at
        await store.close()

    File form::

        store = RunStateStore("state.json", agent)

    Args:
        agent: The starting agent of the run; used to rebuild the RunState on ``load()``
            (agents are matched by name across the handoff graph).
        session_id: The key. Use the session's id when the run has a session, else the run id.
            None generates a random key (``store.key``) that nothing else knows until you pass
            it on.
        connection_string: Database URL; None resolves ``TIMESTEP_DB_URL``,
            ``PG_CONNECTION_URI``, ``DBOS_SYSTEM_DATABASE_URL``, else the embedded SQLite file
            (WAL mode) in the timestep app directory.

    Raises:
        UserError: the arguments fit neither form.
        ConfigurationError: the database URL is malformed or unsupported.
    """

    @overload
    def __init__(
        self,
        agent: Agent[Any],
        session_id: str | None = None,
        connection_string: str | None = None,
    ) -> None: ...

    @overload
    def __init__(self, path: StrPath, agent: Agent[Any], /) -> None: ...

    def __init__(
        self,
        agent: Agent[Any] | StrPath,
        session_id: str | Agent[Any] | None = None,
        connection_string: str | None = None,
    ) -> None:
        # Which form is decided by the type of the first argument: an Agent (database) or a
        # path (file); the second is then a session id or the agent.
        resolved_agent, file_path, key = _parse_arguments(agent, session_id)
        if file_path is not None and connection_string is not None:
            raise UserError("The file form RunStateStore(path, agent) takes no connection_string.")
        self.agent: Agent[Any] = resolved_agent
        self._generated_key = key is None and file_path is None
        self._file: FileSnapshot | None = None
        self._table: SnapshotTable | None = None
        if file_path is not None:
            self._file = FileSnapshot(file_path)
            self._key = str(file_path)
        else:
            self._key = key if key is not None else str(uuid.uuid4())
            self._table = SnapshotTable(connection_string)

    # --- identity ---------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The snapshot key: ``session_id``, the generated key, or (file form) the file path."""
        return self._key

    @property
    def run_id(self) -> str:
        """The ``run_states.run_id`` value of this store (same as :attr:`key`)."""
        return self._key

    @property
    def session_id(self) -> str | None:
        """The session id given to the constructor (None if the key was generated or a file)."""
        return None if self._generated_key or self._file is not None else self._key

    @property
    def path(self) -> Path | None:
        """The snapshot file of the file form, else None."""
        return None if self._file is None else self._file.path

    @property
    def table(self) -> SnapshotTable | None:
        """The underlying :class:`SnapshotTable` of the database form, else None."""
        return self._table

    def __repr__(self) -> str:
        where = f"file={self._key!r}" if self._file else f"key={self._key!r}, db={self._db_label()}"
        return f"RunStateStore(agent={self.agent.name!r}, {where})"

    def _db_label(self) -> str:
        return "" if self._table is None else repr(self._table.url.redacted)

    # --- the four operations ----------------------------------------------------------------

    async def save(self, state: RunState[Any]) -> None:
        """Store ``state`` as this key's active snapshot (previous ones are kept as history).

        The JS form goes to ``state_data`` (a Node program can resume it), Python's own JSON to
        ``native_data``; ``state_type`` is ``interrupted`` when approvals are pending, ``final``
        when the run finished, else ``checkpoint``. One transaction.

        Raises:
            UserError: ``state`` is not a ``RunState``.
            UnsupportedFeatureError: the state uses a feature the JS form cannot carry.
            SnapshotError: the database or file could not be written.
        """
        encoded = encode_state(state)
        if self._file is not None:
            await self._file.save(encoded)
            return
        assert self._table is not None
        await self._table.save_json(
            self._key,
            encoded.state_data,
            encoded.native_data,
            state_type=encoded.state_type,
            schema_version=encoded.schema_version,
            writer=encoded.writer,
        )

    async def load(self, *, context_override: Any = None) -> RunState[Any]:
        """Load the active snapshot as a ``RunState`` and record ``resumed_at``.

        Python-written rows of this SDK version come back losslessly from ``native_data``;
        anything else (a Node row, another SDK version) is decoded from the JS form.
        ``resumed_at`` is set only once the state was rebuilt, and only on the row that was
        read (if a concurrent save replaced it meanwhile, the new row is loaded instead).

        Args:
            context_override: Replaces the run context stored in the snapshot.

        Raises:
            SnapshotNotFoundError: the key has no active snapshot (the message names the key).
            SnapshotError: the snapshot cannot be decoded for this agent graph.
        """
        if self._file is not None:
            stored = await self._file.read()
            return await restore_state(
                self.agent,
                stored.state_data,
                stored.native_data,
                stored.writer,
                where=f"snapshot file {self._key!r}",
                context_override=context_override,
            )
        assert self._table is not None
        # Optimistic read → decode → mark: a row that cannot be rebuilt is never marked as
        # resumed (the durable layer treats resumed_at as "someone took this run over").
        for _ in range(10):
            row = await self._table.active(self._key)
            if row is None:
                raise self._not_found()
            state = await restore_state(
                self.agent,
                row.state_data,
                row.native_data,
                row.writer,
                where=f"snapshot {row.id} of key {self._key!r}",
                context_override=context_override,
            )
            if await self._table.try_mark_resumed(self._key, row_id=row.id):
                return state
        raise SnapshotError(
            f"The snapshot of key {self._key!r} was replaced by concurrent saves 10 times while "
            "loading; is another process saving it in a loop?"
        )

    async def clear(self) -> None:
        """Deactivate the active snapshot (rows stay as history; the file form deletes its files).

        Errors are raised, not swallowed.
        """
        if self._file is not None:
            await self._file.clear()
            return
        assert self._table is not None
        await self._table.deactivate(self._key)

    async def close(self) -> None:
        """Close the database connection (idempotent)."""
        if self._table is not None:
            await self._table.close()

    # --- extras -----------------------------------------------------------------------------

    async def load_row(self) -> SnapshotRow:
        """The active row itself (JS form, native form, state type, timestamps), unmarked.

        Raises:
            SnapshotNotFoundError: the key has no active snapshot.
            UserError: on the file form (a file has no rows).
        """
        table = self._require_table("load_row")
        row = await table.active(self._key)
        if row is None:
            raise self._not_found()
        return row

    async def history(self, *, limit: int | None = None) -> list[SnapshotRow]:
        """Every row of this key, newest first (inactive rows are the history)."""
        return await self._require_table("history").history(self._key, limit=limit)

    async def __aenter__(self) -> RunStateStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- helpers ----------------------------------------------------------------------------

    def _require_table(self, what: str) -> SnapshotTable:
        if self._table is None:
            raise UserError(
                f"RunStateStore.{what}() needs the database form; this store is a file."
            )
        return self._table

    def _not_found(self) -> Exception:
        hint = ""
        if self._generated_key:
            hint = (
                "This key was generated because no session_id was given; pass the key of the "
                "store that saved (its .key) as session_id."
            )
        return not_found(self._key, hint)


def _parse_arguments(first: object, second: object) -> tuple[Agent[Any], Path | None, str | None]:
    """Sort the constructor arguments into (agent, file path, key)."""
    if isinstance(first, Agent):
        if isinstance(second, Agent):
            raise UserError(
                "RunStateStore(agent, session_id): the second argument is a session id."
            )
        if second is not None and not isinstance(second, str):
            raise UserError(f"session_id must be a string or None; got {type(second).__name__}.")
        return first, None, None if second is None else check_key(second)
    if isinstance(first, str | os.PathLike):
        if not isinstance(second, Agent):
            raise UserError(
                "The file form is RunStateStore(path, agent); the second argument must be the "
                f"agent, got {type(second).__name__}. For the database form pass the agent first."
            )
        return second, _as_path(first), None
    raise UserError(
        "RunStateStore needs an agents.Agent first (database form) or a file path and an agent "
        f"(file form); got {type(first).__name__}."
    )


def _as_path(value: StrPath) -> Path:
    text = os.fspath(value)
    if not text:
        raise UserError("The snapshot file path is empty.")
    return Path(text).expanduser().absolute()
