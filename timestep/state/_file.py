"""The file form of ``RunStateStore``: one JSON file a Node program can read as it is.

Layout for ``RunStateStore("state.json", agent)``:

* ``state.json`` — the RunState in the JS form, nothing else, so vanilla
  ``RunState.fromString(agent, fs.readFileSync("state.json", "utf8"))`` loads it.
* ``state.json.native.json`` — a sidecar with Python's own ``to_json()``, the writer string and
  the SHA-256 of the exact bytes of ``state.json`` it belongs to.

Python restores from the sidecar only when the hash still matches and the writer is this SDK
version; if Node (or anything) rewrote ``state.json``, the sidecar is stale and the JS form is
decoded instead. Each file is replaced atomically (write to a temporary file, fsync, rename),
so a reader never sees half a file; the hash makes the pair safe without a lock.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from timestep.errors import SnapshotError, SnapshotFormatError, SnapshotNotFoundError
from timestep.state._rows import dumps_json
from timestep.state._snapshot import EncodedState

__all__ = ["FileSnapshot", "StoredFile", "sidecar_path"]

SIDECAR_SUFFIX = ".native.json"
SIDECAR_FORMAT = "timestep.native-run-state/1"


def sidecar_path(path: Path) -> Path:
    """Where the native sidecar of ``path`` lives."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


@dataclass(frozen=True)
class StoredFile:
    """What a file snapshot holds: the JS form and, if still valid, the native form."""

    state_data: dict[str, Any]
    native_data: dict[str, Any] | None
    writer: str | None


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class FileSnapshot:
    """Reads and writes one snapshot file and its sidecar (blocking I/O runs in a thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sidecar = sidecar_path(path)

    async def save(self, encoded: EncodedState) -> None:
        # Pretty-printed: the file form is for development, and people read these files.
        text = json.dumps(encoded.state_data, ensure_ascii=False, indent=2, allow_nan=False)
        main = (text + "\n").encode("utf-8")
        sidecar = {
            "format": SIDECAR_FORMAT,
            "writer": encoded.writer,
            "state_type": encoded.state_type,
            "schema_version": encoded.schema_version,
            "state_sha256": hashlib.sha256(main).hexdigest(),
            "saved_at": datetime.now(UTC).isoformat(),
            "native_data": encoded.native_data,
        }
        side = dumps_json(sidecar, "native_data").encode("utf-8")

        def write() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Sidecar first, then the main file; either order is safe because the sidecar is
            # only used when its hash matches the main file's bytes.
            _write_atomically(self.sidecar, side)
            _write_atomically(self.path, main)

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            raise SnapshotError(f"Could not write the snapshot file {self.path}: {exc}") from exc

    async def read(self) -> StoredFile:
        def read() -> tuple[bytes, bytes | None]:
            try:
                main = self.path.read_bytes()
            except FileNotFoundError:
                raise SnapshotNotFoundError(
                    f"No run state snapshot file at {str(self.path)!r}.", key=str(self.path)
                ) from None
            try:
                side: bytes | None = self.sidecar.read_bytes()
            except FileNotFoundError:
                side = None
            return main, side

        try:
            main, side = await asyncio.to_thread(read)
        except OSError as exc:
            raise SnapshotError(f"Could not read the snapshot file {self.path}: {exc}") from exc
        try:
            state_data = json.loads(main)
        except ValueError as exc:
            raise SnapshotFormatError(f"{self.path} is not valid JSON: {exc}") from exc
        if not isinstance(state_data, dict):
            raise SnapshotFormatError(f"{self.path} does not hold a JSON object (a RunState).")
        native, writer = self._native_for(main, side)
        return StoredFile(state_data, native, writer)

    def _native_for(
        self, main: bytes, side: bytes | None
    ) -> tuple[dict[str, Any] | None, str | None]:
        # A missing, unreadable or stale sidecar is not an error: the JS form is authoritative.
        if side is None:
            return None, None
        try:
            meta = json.loads(side)
        except ValueError:
            return None, None
        if (
            not isinstance(meta, dict)
            or meta.get("format") != SIDECAR_FORMAT
            or meta.get("state_sha256") != hashlib.sha256(main).hexdigest()
            or not isinstance(meta.get("native_data"), dict)
        ):
            return None, None
        writer = meta.get("writer")
        return meta["native_data"], writer if isinstance(writer, str) else None

    async def clear(self) -> None:
        """Delete the file and its sidecar (a file has no history to keep)."""

        def remove() -> None:
            self.path.unlink(missing_ok=True)
            self.sidecar.unlink(missing_ok=True)

        try:
            await asyncio.to_thread(remove)
        except OSError as exc:
            raise SnapshotError(f"Could not delete the snapshot file {self.path}: {exc}") from exc
