"""Who may talk to the inbox, and from where: token, session cookie, CSRF and host checks.

Every request needs the token, either as ``Authorization: Bearer <token>`` (scripts) or as the
session cookie a browser gets from ``/login`` (the page and its event stream). The cookie holds
no token: it is ``expiry.nonce.mac`` signed with a key derived from the token, so rotating the
token logs every browser out, and a server restart does not.

State-changing requests (anything but GET/HEAD/OPTIONS) must also pass a CSRF check, because a
browser attaches cookies to requests that other sites trigger:

- a foreign ``Origin`` (or ``Sec-Fetch-Site: cross-site``) is refused;
- with cookie authentication the request must carry ``X-Timestep-Inbox``: a custom header that
  a cross-site form cannot send and cross-site ``fetch`` cannot send without a CORS preflight,
  which this server never answers;
- the cookie is ``SameSite=Strict`` and ``HttpOnly``; the JSON routes accept only JSON bodies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable
from http.cookies import SimpleCookie
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CSRF_HEADER",
    "LOOPBACK_HOSTS",
    "SECURITY_HEADERS",
    "InboxGuard",
    "Sessions",
]

#: The custom header cookie-authenticated state changes must carry (any non-empty value).
CSRF_HEADER = "x-timestep-inbox"
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
SESSION_LIFETIME_SECONDS = 12 * 3600

# Sent with every response. The page loads one script and one stylesheet from this origin and
# talks only to this origin; nothing inline is allowed, so an injected string cannot execute
# even if some rendering path forgot to escape it.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        b"img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths reachable without a token: the exchange that hands one in.
_PUBLIC_PATHS = frozenset({"/login"})

Auth = Literal["bearer", "cookie"]


class Sessions:
    """The token check and the browser session cookie derived from it."""

    def __init__(self, token: str, *, lifetime: int = SESSION_LIFETIME_SECONDS) -> None:
        self._token = token.encode()
        self._key = hmac.new(self._token, b"timestep-inbox-session-v1", hashlib.sha256).digest()
        self.lifetime = lifetime
        # Cookies are not isolated by port, so two inboxes on one host (different databases,
        # different tokens) get different cookie names instead of clobbering each other.
        tag = hmac.new(self._key, b"cookie-name", hashlib.sha256).hexdigest()[:8]
        self.cookie_name = f"timestep_inbox_{tag}"

    def token_matches(self, candidate: str) -> bool:
        # compare_digest: the time taken does not reveal how much of the candidate matched.
        return hmac.compare_digest(candidate.encode(), self._token)

    def issue(self, now: float | None = None) -> str:
        expires = int(now if now is not None else time.time()) + self.lifetime
        payload = f"{expires}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._mac(payload)}"

    def cookie_valid(self, value: str, now: float | None = None) -> bool:
        expires, dot, rest = value.partition(".")
        nonce, dot2, mac = rest.partition(".")
        if not (dot and dot2 and expires.isdigit() and nonce):
            return False
        if not hmac.compare_digest(mac.encode(), self._mac(f"{expires}.{nonce}").encode()):
            return False
        return int(expires) > (now if now is not None else time.time())

    def set_cookie_header(self, value: str) -> str:
        return (
            f"{self.cookie_name}={value}; Max-Age={self.lifetime}; Path=/; HttpOnly; SameSite=Strict"
        )

    def clear_cookie_header(self) -> str:
        return f"{self.cookie_name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class InboxGuard:
    """ASGI middleware in front of every route: host check, authentication, CSRF, headers.

    Pure ASGI (not ``BaseHTTPMiddleware``) so the server-sent event stream is passed through
    untouched and its cancellation on client disconnect still reaches the route.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        sessions: Sessions,
        allowed_hosts: Iterable[str] | None,
        login_page: bytes,
    ) -> None:
        self.app = app
        self.sessions = sessions
        # None: any Host (the server was deliberately bound to a non-loopback address).
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        self.login_page = login_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(send)
        headers = _headers(scope)
        if not self._host_allowed(headers.get("host", "")):
            # A page on another name resolving to 127.0.0.1 (DNS rebinding) gets nothing.
            await _json(send, 400, "bad_host", "This inbox only answers to its loopback address.")
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if path in _PUBLIC_PATHS:
            if method not in _SAFE_METHODS and (refusal := _cross_site(scope, headers)):
                await _json(send, 403, "forbidden", refusal)
                return
            await self.app(scope, receive, send)
            return
        auth = self._authenticate(headers)
        if auth is None:
            if path.startswith("/api/"):
                await _json(
                    send, 401, "unauthorized",
                    "Send 'Authorization: Bearer <token>' or log in at /login.",
                    extra=[(b"www-authenticate", b'Bearer realm="timestep-inbox"')],
                )
            else:
                await _send(send, 401, self.login_page, b"text/html; charset=utf-8")
            return
        if method not in _SAFE_METHODS:
            refusal = _cross_site(scope, headers)
            if refusal is None and auth == "cookie" and not headers.get(CSRF_HEADER):
                refusal = f"Cookie-authenticated changes need the {CSRF_HEADER!r} header."
            if refusal is not None:
                await _json(send, 403, "forbidden", refusal)
                return
        scope.setdefault("state", {})["auth"] = auth
        await self.app(scope, receive, send)

    def _host_allowed(self, host_header: str) -> bool:
        if self.allowed_hosts is None:
            return True
        host = host_header.lower()
        if host.startswith("["):  # [::1]:8765
            host = host[1:].partition("]")[0]
        elif host.count(":") == 1:
            host = host.partition(":")[0]
        return host in self.allowed_hosts

    def _authenticate(self, headers: dict[str, str]) -> Auth | None:
        authorization = headers.get("authorization")
        if authorization is not None:
            # An explicit but wrong header is a failure even if a valid cookie is also sent.
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() == "bearer" and self.sessions.token_matches(credentials.strip()):
                return "bearer"
            return None
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header authenticates nobody
            return None
        morsel = cookie.get(self.sessions.cookie_name)
        if morsel is not None and self.sessions.cookie_valid(morsel.value):
            return "cookie"
        return None


def _cross_site(scope: Scope, headers: dict[str, str]) -> str | None:
    """Why a state-changing request looks cross-site, or None."""
    origin = headers.get("origin")
    own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
    if origin is not None and origin.lower() != own.lower():
        return f"Requests from origin {origin!r} are not accepted."
    if headers.get("sec-fetch-site") not in (None, "same-origin", "none"):
        return "Cross-site requests are not accepted."
    return None


def _headers(scope: Scope) -> dict[str, str]:
    # Repeated headers: the last one wins, except Cookie, which browsers may split.
    result: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name == "cookie" and name in result:
            result[name] += "; " + value
        else:
            result[name] = value
    return result


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def _json(
    send: Send, status: int, error: str, detail: str, *, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"error": error, "detail": detail}).encode()
    await _send(send, status, body, b"application/json", extra)


async def _send(
    send: Send, status: int, body: bytes, content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
