"""The inbox's locks: token, login cookie, CSRF, host check, headers, token file, OpenAPI.

Most of these need no runs: the guard refuses before any route touches the database. The CSRF
tests that must reach a decision use a real parked run.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from tests.e2e.support import TOKEN, hosting_runs, parked_run
from timestep.errors import ConfigurationError
from timestep.inbox import create_app, resolve_token, token_path
from timestep.inbox._auth import Sessions
from timestep.inbox._openapi import openapi_document
from timestep.inbox._routes import static_asset
from timestep.inbox._server import is_loopback

BASE = "http://127.0.0.1:8765"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Every route with a sample concrete path (no run needed to be refused).
ROUTES: list[tuple[str, str]] = [
    ("GET", "/"),
    ("GET", "/static/app.js"),
    ("GET", "/static/app.css"),
    ("GET", "/static/favicon.svg"),
    ("POST", "/logout"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/events"),
    ("GET", "/api/runs"),
    ("GET", "/api/runs/r1"),
    ("GET", "/api/runs/r1/timeline"),
    ("POST", "/api/runs/r1/calls/c1/approve"),
    ("POST", "/api/runs/r1/calls/c1/reject"),
]


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    return create_app(f"sqlite:///{tmp_path / 'inbox.sqlite'}", TOKEN)


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


async def login(client: httpx.AsyncClient) -> str:
    """Log in through the printed-link exchange; returns the cookie name."""
    response = await client.get("/login", params={"token": TOKEN})
    assert response.status_code == 303 and response.headers["location"] == "/"
    (name,) = client.cookies.keys()
    return name


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_needs_the_token(anonymous: httpx.AsyncClient, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"},
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}):
        response = await anonymous.request(method, path, headers=headers, json={"reviewer": "a"})
        assert response.status_code == 401, (method, path, headers)
        if path.startswith("/api/"):
            assert response.json()["error"] == "unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")
        elif method == "GET":
            assert "<form" in response.text  # the login page, not the inbox


async def test_a_wrong_bearer_is_not_rescued_by_a_valid_cookie(anonymous: httpx.AsyncClient) -> None:
    await login(anonymous)
    assert (await anonymous.get("/api/runs")).status_code == 200
    response = await anonymous.get("/api/runs", headers={"Authorization": "Bearer nope-nope-nope-nope"})
    assert response.status_code == 401


async def test_login_exchanges_the_token_for_a_strict_httponly_cookie(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/login", params={"token": "not-the-token-at-all"})).status_code == 401
    assert not anonymous.cookies
    response = await anonymous.get("/login", params={"token": TOKEN})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie  # the cookie is a signed session, not the token
    page = await anonymous.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js"' in page.text
    # The form variant (paste the token).
    fresh = httpx.AsyncClient(transport=anonymous._transport, base_url=BASE)
    async with fresh:
        assert (await fresh.get("/login")).status_code == 200
        response = await fresh.post("/login", data={"token": TOKEN})
        assert response.status_code == 303 and fresh.cookies
        assert (await fresh.post("/login", data={"token": "x" * 20})).status_code == 401


async def test_logout_clears_the_cookie(anonymous: httpx.AsyncClient) -> None:
    await login(anonymous)
    response = await anonymous.post("/logout", headers={"X-Timestep-Inbox": "1"})
    assert response.status_code == 204 and "Max-Age=0" in response.headers["set-cookie"]
    assert (await anonymous.get("/api/runs")).status_code == 401


def test_session_cookies_are_signed_and_expire() -> None:
    sessions = Sessions(TOKEN, lifetime=60)
    value = sessions.issue(now=1000)
    assert sessions.cookie_valid(value, now=1059)
    assert not sessions.cookie_valid(value, now=1061)
    expires, nonce, mac = value.split(".")
    assert not sessions.cookie_valid(f"{int(expires) + 1000}.{nonce}.{mac}", now=1000)
    assert not sessions.cookie_valid(f"{expires}.{nonce}x.{mac}", now=1000)
    assert not sessions.cookie_valid("garbage", now=1000)
    # Another token (another inbox) neither accepts the cookie nor shares its name.
    other = Sessions("another-token-0123456789", lifetime=60)
    assert not other.cookie_valid(value, now=1000)
    assert other.cookie_name != sessions.cookie_name
    assert sessions.token_matches(TOKEN) and not sessions.token_matches(TOKEN[:-1])


async def test_requests_for_a_foreign_host_name_are_refused(anonymous: httpx.AsyncClient) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 reaches nothing."""
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example"):
        response = await anonymous.get("/api/runs", headers={**AUTH, "Host": host})
        assert response.status_code == 400 and response.json()["error"] == "bad_host", host
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", "localhost"):
        assert (await anonymous.get("/api/runs", headers={**AUTH, "Host": host})).status_code == 200, host


async def test_a_non_loopback_app_answers_any_host(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'x.sqlite'}", TOKEN, allowed_hosts=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inbox.lan") as c:
        assert (await c.get("/api/runs", headers=AUTH)).status_code == 200


async def test_every_response_carries_a_strict_csp(anonymous: httpx.AsyncClient) -> None:
    responses = [
        await anonymous.get("/"),  # 401 login page
        await anonymous.get("/api/runs"),  # 401 JSON
        await anonymous.get("/api/runs", headers={"Host": "evil.example"}),  # 400
    ]
    await login(anonymous)
    responses += [await anonymous.get(path) for path in ("/", "/static/app.js", "/api/openapi.json")]
    for response in responses:
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_page_assets_never_parse_html_and_have_no_inline_script() -> None:
    # Comments may name the sinks they avoid; the code may not use them.
    script = re.sub(r"^\s*//.*$", "", static_asset("app.js").decode(), flags=re.MULTILINE)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in script, sink
    for name in ("index.html", "login.html"):
        html = static_asset(name).decode()
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html)), name
        assert not re.search(r"<[^>]+\son\w+\s*=", html, re.IGNORECASE), name  # no onclick=…
        assert "style=" not in html and "<style" not in html, name


# ---- CSRF: state changes from a browser need more than the cookie --------------------------


@pytest.fixture
async def with_runs(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    async with hosting_runs(db_url, tmp_path, monkeypatch) as url:
        app = create_app(url, TOKEN)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
            yield c


async def test_cross_site_decisions_are_refused(with_runs: httpx.AsyncClient) -> None:
    client = with_runs
    info = await parked_run()
    path = f"/api/runs/{info.run_id}/calls/{info.pending[0].call_id}/approve"
    body = {"reviewer": "mallory"}
    await login(client)
    attempts: list[dict[str, Any]] = [
        {},  # cookie only: what a cross-site form or fetch would carry
        {"Origin": "https://evil.example"},
        {"X-Timestep-Inbox": "1", "Origin": "https://evil.example"},
        {"X-Timestep-Inbox": "1", "Origin": "null"},
        {"X-Timestep-Inbox": "1", "Origin": "http://127.0.0.1:9999"},  # another local port
        {"X-Timestep-Inbox": "1", "Sec-Fetch-Site": "cross-site"},
        {"X-Timestep-Inbox": "1", "Sec-Fetch-Site": "same-site"},
        {**AUTH, "Origin": "https://evil.example"},  # even with the bearer token
    ]
    for headers in attempts:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 403, headers
        assert response.json()["error"] == "forbidden"
    # A cross-site HTML form can only send form encodings: refused as not JSON.
    form = await client.post(path, data=body, headers={"X-Timestep-Inbox": "1"})
    assert form.status_code == 415
    # Login through a foreign form is refused too.
    assert (await client.post("/login", data={"token": TOKEN},
                              headers={"Origin": "https://evil.example"})).status_code == 403
    # The page's own request: cookie + header + same origin.
    ok = await client.post(path, json={"reviewer": "alice"},
                           headers={"X-Timestep-Inbox": "1", "Origin": BASE, "Sec-Fetch-Site": "same-origin"})
    assert ok.status_code == 200 and ok.json()["decided_by"] == "alice"


# ---- the token -----------------------------------------------------------------------------


def test_token_is_generated_once_with_mode_600(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIMESTEP_INBOX_TOKEN", raising=False)
    first = resolve_token()
    assert first.source == "generated" and first.path == token_path()
    assert len(first.value) >= 40
    if os.name == "posix":
        assert stat.S_IMODE(token_path().stat().st_mode) == 0o600
    again = resolve_token()
    assert again.source == "file" and again.value == first.value
    assert first.value not in repr(first)
    # A loosened file is tightened again.
    if os.name == "posix":
        token_path().chmod(0o644)
        resolve_token()
        assert stat.S_IMODE(token_path().stat().st_mode) == 0o600


def test_token_from_environment_wins_and_weak_tokens_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMESTEP_INBOX_TOKEN", TOKEN)
    resolved = resolve_token()
    assert (resolved.source, resolved.value) == ("environment", TOKEN)
    assert not token_path().exists()
    assert resolve_token("explicit-token-0123456789").source == "argument"
    for weak in ("short", "   ", "has space in it 0123456789"):
        with pytest.raises(ConfigurationError):
            resolve_token(weak)


def test_loopback_detection() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.com"):
        assert not is_loopback(host), host


# ---- OpenAPI -------------------------------------------------------------------------------


def _documented_path(route_path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", route_path)


async def test_openapi_documents_every_route_and_nothing_else(app: Starlette) -> None:
    doc = openapi_document()
    routes = {
        (_documented_path(r.path), m.lower())
        for r in app.routes
        if isinstance(r, Route)
        for m in (r.methods or ())
        if m != "HEAD"
    }
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented
    schemas = doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["operationId"] and op["summary"] and op["responses"], (path, method)
            if op.get("security") != []:
                assert "401" in op["responses"], (path, method)
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path
            for response in op["responses"].values():
                for media in response.get("content", {}).values():
                    ref = media["schema"].get("$ref", "")
                    assert not ref or ref.rsplit("/", 1)[1] in schemas
    for verb in ("approve", "reject"):
        responses = doc["paths"][f"/api/runs/{{run_id}}/calls/{{call_id}}/{verb}"]["post"]["responses"]
        assert {"200", "400", "401", "403", "404", "409", "413", "415", "422"} <= set(responses)


async def test_openapi_is_served_behind_the_token(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/api/openapi.json")).status_code == 401
    response = await anonymous.get("/api/openapi.json", headers=AUTH)
    assert response.status_code == 200 and response.json() == openapi_document()
