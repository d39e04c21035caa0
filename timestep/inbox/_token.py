"""The inbox's access token: where it comes from, and how it is stored.

Order: explicit argument, then ``TIMESTEP_INBOX_TOKEN``, then the token file in the app
directory, generated on first start with :func:`secrets.token_urlsafe` and written with mode
0600. The token is shown to the user exactly once, when it is generated; it never goes to a log.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from timestep.config import app_dir
from timestep.errors import ConfigurationError

__all__ = ["TOKEN_ENV_VAR", "TOKEN_FILE_NAME", "InboxToken", "resolve_token", "token_path"]

logger = logging.getLogger("timestep.inbox")

TOKEN_ENV_VAR = "TIMESTEP_INBOX_TOKEN"
TOKEN_FILE_NAME = "inbox-token"
# A token shorter than this could be guessed; generated tokens carry 256 bits.
_MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class InboxToken:
    """A resolved token and where it came from (``generated`` means: just created, show it)."""

    value: str = ""
    source: Literal["argument", "environment", "file", "generated"] = "argument"
    path: Path | None = None

    def __repr__(self) -> str:  # never print the secret by accident
        return f"InboxToken(source={self.source!r}, path={self.path!r})"


def token_path() -> Path:
    return app_dir() / TOKEN_FILE_NAME


def resolve_token(explicit: str | None = None) -> InboxToken:
    """Find the inbox token (see the module docstring for the order)."""
    if explicit is not None:
        return InboxToken(_checked(explicit, "the token argument"), "argument")
    from_env = os.environ.get(TOKEN_ENV_VAR)
    if from_env:
        return InboxToken(_checked(from_env, TOKEN_ENV_VAR), "environment")
    path = token_path()
    try:
        return InboxToken(_read(path), "file", path)
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two servers starting at once must not overwrite each other's token; the mode
        # is applied at creation so the secret is never readable by others, even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return InboxToken(_read(path), "file", path)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    return InboxToken(value, "generated", path)


def _read(path: Path) -> str:
    with path.open(encoding="utf-8") as f:
        value = f.read().strip()
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            # Someone loosened it; tighten rather than refuse, and say so (without the token).
            path.chmod(0o600)
            logger.warning("inbox token file %s had mode %o; changed it to 600", path, mode)
    return _checked(value, str(path))


def _checked(value: str, where: str) -> str:
    value = value.strip()
    if not value:
        raise ConfigurationError(f"The inbox token from {where} is empty.")
    if len(value) < _MIN_TOKEN_LENGTH:
        raise ConfigurationError(
            f"The inbox token from {where} is shorter than {_MIN_TOKEN_LENGTH} characters; "
            "use a long random value (python -c 'import secrets; print(secrets.token_urlsafe(32))')."
        )
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ConfigurationError(f"The inbox token from {where} contains whitespace or control characters.")
    return value
