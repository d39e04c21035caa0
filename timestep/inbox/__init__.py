"""The approval inbox: a small web page and JSON API for deciding parked runs' tool calls.

``timestep serve`` runs it (or call :func:`serve`; :func:`create_app` gives the ASGI app). It
lists runs by status, shows each pending approval, lets a reviewer approve, always-approve or
reject with a message, and updates live. Every request needs the inbox token. Needs the
``inbox`` extra: ``pip install "timestep[inbox]"``.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        'The approval inbox needs Starlette and uvicorn: pip install "timestep[inbox]"'
    ) from exc

from timestep.inbox._app import create_app
from timestep.inbox._server import DEFAULT_HOST, DEFAULT_PORT, serve
from timestep.inbox._token import TOKEN_ENV_VAR, resolve_token, token_path

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "TOKEN_ENV_VAR",
    "create_app",
    "resolve_token",
    "serve",
    "token_path",
]
