"""``timestep serve``: run the inbox with uvicorn, loopback-only unless told otherwise."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import sys
from typing import TextIO

from timestep.config import resolve_database_url
from timestep.errors import UserError
from timestep.inbox._app import create_app
from timestep.inbox._auth import LOOPBACK_HOSTS
from timestep.inbox._token import TOKEN_ENV_VAR, InboxToken, resolve_token

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "is_loopback", "serve"]

logger = logging.getLogger("timestep.inbox")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    database_url: str | None = None,
    token: str | None = None,
    *,
    out: TextIO | None = None,
) -> int:
    """Serve the approval inbox until interrupted (Ctrl+C); returns the exit code.

    Binds to 127.0.0.1 by default. Any other address is served with a loud warning: the inbox
    then answers every host name, and without TLS the token and cookie cross the network in
    clear text (put a TLS-terminating proxy in front).
    """
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - depends on the installation
        raise UserError('The approval inbox needs uvicorn: pip install "timestep[inbox]"') from None
    out = out or sys.stdout
    resolved = resolve_token(token)
    loopback = is_loopback(host)
    if not loopback:
        warning = (
            f"WARNING: the inbox is listening on {host}, not on a loopback address. Anyone who can "
            "reach this port can try the token, and without TLS the token and session cookie "
            "travel in clear text. Prefer --host 127.0.0.1 and an SSH tunnel or a TLS proxy."
        )
        print("\n" + "!" * 78 + "\n" + warning + "\n" + "!" * 78 + "\n", file=sys.stderr, flush=True)
        logger.warning("inbox bound to non-loopback address %s", host)
    # Loopback: answer only loopback names (and the one bound, e.g. 127.0.0.2) so a page on a
    # rebound DNS name gets nothing. Elsewhere the names clients use are unknown: answer any.
    allowed = (*LOOPBACK_HOSTS, host.strip("[]").lower()) if loopback else None
    app = create_app(database_url, resolved.value, allowed_hosts=allowed)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        # The access log would record /login?token=… in clear; request logging stays off.
        access_log=False,
        log_level="warning",
        server_header=False,
        # Open event streams never end by themselves; give them a moment, then close them.
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    database = resolve_database_url(database_url).redacted

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            bound_port = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
            _announce(out, _base_url(host, bound_port), database, resolved)
        await task

    try:
        asyncio.run(run())
    except SystemExit as exc:  # uvicorn exits when it cannot bind
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        return 0
    return 0 if server.started else 1


def _base_url(host: str, port: int) -> str:
    shown = host if ":" not in host or host.startswith("[") else f"[{host}]"
    return f"http://{shown}:{port}/"


def _announce(out: TextIO, url: str, database: str, token: InboxToken) -> None:
    lines = [f"timestep inbox: {url}  (runs in {database})"]
    if token.source == "generated":
        # The only time the token is shown: right after it was created.
        lines += [
            f"A new access token was saved to {token.path} (mode 600). It is shown only this once:",
            f"  {token.value}",
            "Log in once per browser with:",
            f"  {url}login?token={token.value}",
        ]
    elif token.source == "file":
        lines.append(f"Log in at {url}login with the token stored in {token.path}.")
    elif token.source == "environment":
        lines.append(f"Log in at {url}login with the token in ${TOKEN_ENV_VAR}.")
    else:
        lines.append(f"Log in at {url}login with the token you passed.")
    lines.append("Scripts send 'Authorization: Bearer <token>'; the API is described at /api/openapi.json.")
    print("\n".join(lines), file=out, flush=True)
