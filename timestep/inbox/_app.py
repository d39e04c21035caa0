"""Wiring: the Starlette app of the approval inbox."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from timestep.errors import ApprovalConflictError, CallNotFoundError, RunNotFoundError, UserError
from timestep.inbox._auth import LOOPBACK_HOSTS, InboxGuard, Sessions
from timestep.inbox._decisions import DecisionDesk
from timestep.inbox._routes import Handlers, Problem, json_response
from timestep.inbox._sse import RunWatcher
from timestep.inbox._store import RunStore
from timestep.inbox._token import resolve_token

__all__ = ["create_app"]

logger = logging.getLogger("timestep.inbox")

_HTTP_ERRORS = {404: "not_found", 405: "method_not_allowed"}


def create_app(
    database_url: str | None = None,
    token: str | None = None,
    *,
    allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS,
    poll_interval: float = 0.5,
) -> Starlette:
    """The approval inbox as an ASGI app (serve it with any ASGI server, or use :func:`serve`).

    Args:
        database_url: Where the runs live (default: ``timestep.config`` resolution).
        token: The access token; default ``TIMESTEP_INBOX_TOKEN``, else the app-dir token file
            (created on first use: :func:`serve` shows a new token once, this function does not).
        allowed_hosts: Host header names answered; ``None`` answers any (needed when bound to a
            non-loopback address). The default answers only loopback names.
        poll_interval: Seconds between the server-side polls behind the live updates.
    """
    if token is None:
        resolved = resolve_token()
        if resolved.source == "generated":
            logger.warning("generated a new inbox token in %s", resolved.path)
        token = resolved.value
    store = RunStore(database_url)
    sessions = Sessions(token)
    watcher = RunWatcher(store, interval=poll_interval)
    handlers = Handlers(store, sessions, DecisionDesk(store), watcher)

    routes = [
        Route("/", handlers.asset, methods=["GET"]),
        Route("/static/app.js", handlers.asset, methods=["GET"]),
        Route("/static/app.css", handlers.asset, methods=["GET"]),
        Route("/static/favicon.svg", handlers.asset, methods=["GET"]),
        Route("/login", handlers.login, methods=["GET", "POST"]),
        Route("/logout", handlers.logout, methods=["POST"]),
        Route("/api/openapi.json", handlers.openapi, methods=["GET"]),
        Route("/api/events", handlers.events, methods=["GET"]),
        Route("/api/runs", handlers.runs, methods=["GET"]),
        # Run ids may contain '/': the suffixed routes come first so they win over the bare one.
        Route("/api/runs/{run_id:path}/timeline", handlers.timeline, methods=["GET"]),
        Route("/api/runs/{run_id:path}/calls/{call_id}/approve", handlers.approve, methods=["POST"]),
        Route("/api/runs/{run_id:path}/calls/{call_id}/reject", handlers.reject, methods=["POST"]),
        Route("/api/runs/{run_id:path}", handlers.run, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        logger.info("timestep inbox serving runs of %s", store.describe())
        yield
        await watcher.stop()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(InboxGuard, sessions=sessions, allowed_hosts=allowed_hosts,
                               login_page=handlers.login_page)],
        exception_handlers={
            Problem: _problem,
            HTTPException: _http_error,
            RunNotFoundError: _status(404, "not_found"),
            CallNotFoundError: _status(404, "not_found"),
            ApprovalConflictError: _status(409, "conflict"),
            UserError: _status(400, "bad_request"),
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.watcher = watcher
    app.state.sessions = sessions
    return app


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return json_response({"error": exc.error, "detail": exc.detail}, exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = _HTTP_ERRORS.get(exc.status_code, "bad_request")
    return json_response({"error": error, "detail": exc.detail}, exc.status_code)


def _status(status: int, error: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        return json_response({"error": error, "detail": str(exc)}, status)

    return handler


async def _internal_error(request: Request, exc: Exception) -> Response:
    # The detail would be a stack of internals; the log gets the type, the client a fixed text.
    logger.error("inbox request failed: %s", type(exc).__name__, exc_info=exc)
    return json_response({"error": "internal_error", "detail": "The server failed; see its log."}, 500)
