"""HTTP to one Ollama host: ``POST /api/chat``, NDJSON parsing, and error mapping.

We do not call ``ollama.AsyncClient.chat``: the 0.6.3 client drops the server's tool-call
``id``/``index``, strips ``anyOf``/nested ``properties``/``required`` from tool schemas, and
drops ``tool_call_id`` from messages (reference/ollama.md §1.4). Posting the JSON ourselves keeps
the SDK's strict tool schemas intact. An ``ollama.AsyncClient`` passed by the user is still
honoured: we reuse its underlying ``httpx.AsyncClient`` (base URL, headers, transport).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import httpx

from timestep.errors import (
    ModelConnectionError,
    ModelNotFoundError,
    ModelResponseError,
    ModelTimeoutError,
)

if TYPE_CHECKING:
    import ollama

__all__ = ["DEFAULT_TIMEOUT", "OllamaConnection", "TimeoutLike"]

DEFAULT_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
"""A local model can take minutes to load and answer; a host that does not accept a TCP
connection within 10 s is down. For streams, the read timeout bounds the gap between chunks."""

TimeoutLike = float | httpx.Timeout

_CHAT_PATH = "/api/chat"


class OllamaConnection:
    """Requests to one Ollama host, with one ``httpx.AsyncClient`` per event loop.

    An httpx client is bound to the loop it first ran on; DBOS workers, ``asyncio.run`` calls
    and per-test loops would otherwise share a client across loops and fail with "Event loop is
    closed". A client supplied by the user is used as-is.

    Args:
        host: Base URL (``http://localhost:11434``); shown in errors, never with credentials.
        api_key: Sent as ``Authorization: Bearer``; never logged or shown.
        timeout: Per-request timeout (seconds or ``httpx.Timeout``), always explicit.
        client: An existing ``httpx.AsyncClient`` whose ``base_url`` is the Ollama host.
    """

    def __init__(
        self,
        host: str,
        *,
        api_key: str | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.host = host.rstrip("/")
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._fixed_client = client
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def from_ollama_client(
        cls, ollama_client: ollama.AsyncClient, *, timeout: TimeoutLike = DEFAULT_TIMEOUT
    ) -> OllamaConnection:
        """Reuse an ``ollama.AsyncClient``'s httpx client (its host, headers and transport)."""
        http_client = getattr(ollama_client, "_client", None)
        if not isinstance(http_client, httpx.AsyncClient):
            raise TypeError(
                "ollama_client must be an ollama.AsyncClient (the sync ollama.Client cannot be "
                f"awaited); got {type(ollama_client).__name__}."
            )
        return cls(str(http_client.base_url), timeout=timeout, client=http_client)

    def __repr__(self) -> str:
        return f"OllamaConnection(host={self.host!r})"

    def _client(self) -> httpx.AsyncClient:
        if self._fixed_client is not None:
            return self._fixed_client
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                base_url=self.host,
                headers=self._headers,
                timeout=self.timeout,
                follow_redirects=True,
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the clients this connection created on the running loop (not a user's client)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - aclose is always awaited
            return
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()
        # Clients of other (possibly closed) loops cannot be closed from here; drop them.
        self._clients.clear()

    async def chat(
        self,
        body: Mapping[str, Any],
        *,
        model: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """POST a non-streamed chat request and return the reply object."""
        try:
            response = await self._client().post(
                _CHAT_PATH,
                json=dict(body),
                headers=dict(headers or {}),
                params=dict(params or {}),
                timeout=self.timeout,
            )
        except httpx.TransportError as exc:
            self._raise_transport(exc, model)
        if response.status_code >= 400:
            self._raise_status(response.status_code, response.text, model)
        try:
            data = response.json()
        except ValueError as exc:
            raise ModelResponseError(
                f"Ollama at {self.host} returned a body that is not JSON for model {model!r}.",
                model=model,
                host=self.host,
                status_code=response.status_code,
            ) from exc
        if not isinstance(data, dict):
            raise ModelResponseError(
                f"Ollama at {self.host} returned {type(data).__name__}, not an object.",
                model=model,
                host=self.host,
                status_code=response.status_code,
            )
        if "error" in data:
            self._raise_status(response.status_code, json.dumps(data), model)
        return data

    async def chat_stream(
        self,
        body: Mapping[str, Any],
        *,
        model: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """POST a streamed chat request and yield each NDJSON object until ``done: true``."""
        client = self._client()
        request = client.build_request(
            "POST",
            _CHAT_PATH,
            json=dict(body),
            headers=dict(headers or {}),
            params=dict(params or {}),
            timeout=self.timeout,
        )
        try:
            response = await client.send(request, stream=True)
        except httpx.TransportError as exc:
            self._raise_transport(exc, model)
        try:
            if response.status_code >= 400:
                text = (await response.aread()).decode("utf-8", "replace")
                self._raise_status(response.status_code, text, model)
            saw_done = False
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                chunk = self._parse_line(line, model, response.status_code)
                yield chunk
                if chunk.get("done"):
                    saw_done = True
                    break
            if not saw_done:
                raise ModelResponseError(
                    f"Ollama at {self.host} closed the stream for model {model!r} before the "
                    "final `done` chunk (truncated response).",
                    model=model,
                    host=self.host,
                    status_code=response.status_code,
                )
        except httpx.TransportError as exc:
            self._raise_transport(exc, model)
        finally:
            await response.aclose()

    def _parse_line(self, line: str, model: str, status: int) -> dict[str, Any]:
        try:
            chunk = json.loads(line)
        except ValueError as exc:
            raise ModelResponseError(
                f"Ollama at {self.host} sent a stream line that is not JSON: {line[:200]!r}",
                model=model,
                host=self.host,
                status_code=status,
            ) from exc
        if not isinstance(chunk, dict):
            raise ModelResponseError(
                f"Ollama at {self.host} sent a stream line that is not an object: {line[:200]!r}",
                model=model,
                host=self.host,
                status_code=status,
            )
        if "error" in chunk:
            # Mid-stream failures keep HTTP 200 and end with {"error": "..."} (Ollama docs,
            # api/streaming); status_code stays the HTTP status the stream was opened with.
            raise ModelResponseError(
                f"Ollama at {self.host} failed mid-stream for model {model!r}: {chunk['error']}",
                model=model,
                host=self.host,
                status_code=status,
            )
        return chunk

    def _raise_transport(self, exc: httpx.TransportError, model: str) -> NoReturn:
        if isinstance(exc, httpx.TimeoutException):
            raise ModelTimeoutError(
                f"Ollama at {self.host} did not answer for model {model!r} within the timeout "
                f"({_describe_timeout(self.timeout)}; {type(exc).__name__}). Pass a larger "
                "timeout= to OllamaModelProvider for slow models.",
                model=model,
                host=self.host,
            ) from exc
        if isinstance(exc, httpx.ConnectError):
            raise ModelConnectionError(
                f"Cannot connect to Ollama at {self.host} ({exc or 'connection refused'}). Start "
                "it with `ollama serve`, or point OLLAMA_HOST or base_url at a running server.",
                model=model,
                host=self.host,
            ) from exc
        raise ModelConnectionError(
            f"Connection to Ollama at {self.host} failed for model {model!r}: "
            f"{type(exc).__name__}: {exc}",
            model=model,
            host=self.host,
        ) from exc

    def _raise_status(self, status: int, text: str, model: str) -> NoReturn:
        message = _error_message(text)
        if status == 404 and "not found" in message.lower():
            raise ModelNotFoundError(
                f"Model {model!r} not found on Ollama at {self.host}: {message}. "
                f"Run `ollama pull {model}` (or check the name; cloud models are listed at "
                "https://ollama.com/search?c=cloud).",
                model=model,
                host=self.host,
            )
        hint = ""
        if status in (401, 403):
            hint = " Check the API key (api_key= or OLLAMA_API_KEY) for this host."
        elif status == 429:
            hint = " Rate limited; retry later."
        raise ModelResponseError(
            f"Ollama at {self.host} answered HTTP {status} for model {model!r}: {message}.{hint}",
            model=model,
            host=self.host,
            status_code=status,
        )


def _error_message(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:500] or "(empty body)"
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return text.strip()[:500]


def _describe_timeout(timeout: httpx.Timeout) -> str:
    return f"connect {timeout.connect}s, read {timeout.read}s"
