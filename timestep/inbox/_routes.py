"""The inbox's routes: the JSON API the page uses, the page itself, and the login exchange.

Handlers stay thin: they validate input, call the durable API (through ``DecisionDesk`` for
decisions) and shape JSON. Errors are JSON ``{"error": code, "detail": text}`` with the HTTP
status the OpenAPI document lists (see ``_openapi.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, cast, get_args
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from timestep.durable import RunStatus
from timestep.inbox._auth import Sessions
from timestep.inbox._decisions import DecisionDesk
from timestep.inbox._openapi import openapi_document
from timestep.inbox._sse import RunWatcher, event_stream
from timestep.inbox._store import RunStore

__all__ = ["Handlers", "Problem", "json_response", "static_asset"]

MAX_BODY_BYTES = 64 * 1024
MAX_REVIEWER_CHARS = 100
MAX_MESSAGE_CHARS = 4000
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)


class Problem(Exception):
    """An HTTP error with a JSON body; raised by handlers, rendered by the app."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def json_response(data: Any, status: int = 200) -> Response:
    # default=str: step outputs are user data and may hold values JSON has no type for.
    return Response(json.dumps(data, default=str), status_code=status, media_type="application/json")


def static_asset(name: str) -> bytes:
    return resources.files("timestep.inbox").joinpath("static", name).read_bytes()


@dataclass
class Handlers:
    """Route handlers bound to one database, token and watcher."""

    store: RunStore
    sessions: Sessions
    desk: DecisionDesk
    watcher: RunWatcher

    def __post_init__(self) -> None:
        # Read once: the assets are part of the installed package and never change at runtime.
        self.assets: dict[str, tuple[bytes, str]] = {
            "/": (static_asset("index.html"), "text/html; charset=utf-8"),
            "/static/app.js": (static_asset("app.js"), "text/javascript; charset=utf-8"),
            "/static/app.css": (static_asset("app.css"), "text/css; charset=utf-8"),
            "/static/favicon.svg": (static_asset("favicon.svg"), "image/svg+xml"),
        }
        self.login_page = static_asset("login.html")

    # -- page and login ---------------------------------------------------------------------

    async def asset(self, request: Request) -> Response:
        body, media_type = self.assets[request.url.path]
        return Response(body, media_type=media_type)

    async def login(self, request: Request) -> Response:
        """Exchange the token (``?token=`` link or the login form) for a session cookie."""
        if request.method == "GET":
            token = request.query_params.get("token")
        else:
            raw = await _read_body(request, limit=4096)
            values = parse_qs(raw.decode("utf-8", "replace")).get("token")
            token = values[0] if values else None
        if token is None:
            return Response(self.login_page, media_type="text/html; charset=utf-8")
        if not self.sessions.token_matches(token.strip()):
            return Response(self.login_page, status_code=401, media_type="text/html; charset=utf-8")
        # 303 to "/": the token leaves the address bar, and reloading does not resend a form.
        response = Response(status_code=303, headers={"location": "/"})
        response.headers.append("set-cookie", self.sessions.set_cookie_header(self.sessions.issue()))
        return response

    async def logout(self, request: Request) -> Response:
        response = Response(status_code=204)
        response.headers.append("set-cookie", self.sessions.clear_cookie_header())
        return response

    # -- JSON API -----------------------------------------------------------------------------

    async def openapi(self, request: Request) -> Response:
        return json_response(openapi_document())

    async def runs(self, request: Request) -> Response:
        status = request.query_params.get("status") or None
        if status is not None and status not in RUN_STATUSES:
            raise Problem(400, "bad_request", f"Unknown status {status!r}; use one of {', '.join(RUN_STATUSES)}.")
        limit_text = request.query_params.get("limit", "50")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 200:
            raise Problem(400, "bad_request", "limit must be an integer from 1 to 200.")
        infos = await self.store.list(cast(RunStatus | None, status), int(limit_text))
        return json_response({"runs": [i.to_dict() for i in infos]})

    async def run(self, request: Request) -> Response:
        info = await self.store.get(request.path_params["run_id"])
        return json_response(info.to_dict())

    async def timeline(self, request: Request) -> Response:
        return json_response(await self.store.timeline(request.path_params["run_id"]))

    async def approve(self, request: Request) -> Response:
        return await self._decide(request, "approve")

    async def reject(self, request: Request) -> Response:
        return await self._decide(request, "reject")

    async def events(self, request: Request) -> Response:
        run_id = request.query_params.get("run_id") or None
        if run_id is not None:
            await self.store.get(run_id)  # 404 now, not mid-stream
        return StreamingResponse(
            event_stream(self.watcher, run_id),
            media_type="text/event-stream",
            # no-transform/X-Accel-Buffering: proxies must not buffer a live stream.
            headers={"cache-control": "no-store, no-transform", "x-accel-buffering": "no"},
        )

    async def _decide(self, request: Request, decision: Literal["approve", "reject"]) -> Response:
        body = await _json_object(request)
        allowed = {"reviewer", "always"} | ({"message"} if decision == "reject" else set())
        problems = [f"unknown field {key!r}" for key in sorted(set(body) - allowed)]
        reviewer = body.get("reviewer")
        if not isinstance(reviewer, str) or not reviewer.strip():
            problems.append("'reviewer' (who decides) is required: a non-empty string")
        elif len(reviewer.strip()) > MAX_REVIEWER_CHARS or not reviewer.strip().isprintable():
            problems.append(f"'reviewer' must be printable and at most {MAX_REVIEWER_CHARS} characters")
        always = body.get("always", False)
        if not isinstance(always, bool):
            problems.append("'always' must be true or false")
        message = body.get("message")
        if message is not None and (not isinstance(message, str) or len(message) > MAX_MESSAGE_CHARS):
            problems.append(f"'message' must be a string of at most {MAX_MESSAGE_CHARS} characters")
        if problems:
            raise Problem(422, "validation_error", "; ".join(problems) + ".")
        assert isinstance(reviewer, str) and isinstance(always, bool)
        sent = await self.desk.decide(
            request.path_params["run_id"],
            request.path_params["call_id"],
            decision,
            reviewer=reviewer.strip(),
            always=always,
            message=message or None,
        )
        return json_response(sent.to_dict())


async def _json_object(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/json":
        # Only JSON: a cross-site HTML form can send form encodings and text/plain, never JSON.
        raise Problem(415, "unsupported_media_type", "Send the body as application/json.")
    raw = await _read_body(request, limit=MAX_BODY_BYTES)
    try:
        data = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        raise Problem(400, "bad_request", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise Problem(400, "bad_request", "The body must be a JSON object.")
    return data


async def _read_body(request: Request, *, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, "payload_too_large", f"The body exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
