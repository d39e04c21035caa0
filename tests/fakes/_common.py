"""What both fake model servers share: the script vocabulary, request records, the runner.

A test scripts replies in a wire-neutral form (:class:`Reply`, :class:`ToolCall`,
:class:`ErrorReply`); each fake renders them in its own protocol (Ollama NDJSON, OpenAI SSE).
"""

from __future__ import annotations

import re
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette

__all__ = [
    "BackgroundServer",
    "ErrorReply",
    "RecordedRequest",
    "Reply",
    "Responder",
    "Script",
    "ScriptItem",
    "ToolCall",
    "random_call_id",
    "split_tokens",
]


@dataclass(frozen=True)
class ToolCall:
    """A tool call the fake model makes.

    ``id=None`` lets the server generate one (``call_`` + 8 lowercase alphanumerics, as Ollama
    does); ``id=""`` sends a call without any id, like servers that omit it.
    """

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted model answer.

    Attributes:
        text: Assistant text (streamed in word-sized chunks).
        thinking: Reasoning text, streamed before the text.
        tool_calls: Tool calls, sent after the text (Ollama: one complete chunk).
        input_tokens: Reported prompt tokens.
        output_tokens: Reported completion tokens.
        done_reason: Ollama ``done_reason`` / OpenAI ``finish_reason`` override.
        delay: Seconds to wait before answering (to trip client timeouts).
        truncate: Streamed only: stop before the final ``done`` chunk / ``[DONE]``.
    """

    text: str = ""
    thinking: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    input_tokens: int = 11
    output_tokens: int = 7
    done_reason: str | None = None
    delay: float = 0.0
    truncate: bool = False


@dataclass(frozen=True)
class ErrorReply:
    """A scripted failure.

    ``message`` may contain ``{model}`` (replaced by the requested model). With
    ``mid_stream=True`` a streamed request gets HTTP 200, ``text_before`` as content chunks,
    then an error line; a non-streamed one gets ``status``.
    """

    status: int
    message: str
    mid_stream: bool = False
    text_before: str = "Partial answer"


ScriptItem = Reply | ErrorReply
Responder = Callable[[dict[str, Any]], ScriptItem]


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake received (headers lower-cased; ``body`` parsed JSON or None)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    at: float


class Script:
    """Thread-safe queue of scripted replies, or a responder function, plus request records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[ScriptItem] = deque()
        self._responder: Responder | None = None
        self._requests: list[RecordedRequest] = []

    def extend(self, items: Iterable[ScriptItem]) -> None:
        with self._lock:
            self._queue.extend(items)

    def set_responder(self, responder: Responder | None) -> None:
        with self._lock:
            self._responder = responder

    def next_for(self, body: dict[str, Any]) -> ScriptItem | None:
        """The queued reply if any, else the responder's answer, else None (script exhausted)."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            responder = self._responder
        return responder(body) if responder is not None else None

    def record(self, request: RecordedRequest) -> int:
        with self._lock:
            self._requests.append(request)
            return len(self._requests)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._responder = None
            self._requests.clear()


class BackgroundServer:
    """Runs an ASGI app with uvicorn on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, app: Starlette) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="error",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name="fake-model-server", daemon=True
        )
        self.port = 0

    def start(self, timeout: float = 10.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake model server did not start")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True  # do not wait for hanging handlers (timeout tests)
        self._thread.join(timeout=10)


def random_call_id() -> str:
    """``call_`` + 8 lowercase alphanumerics, the shape Ollama's server generates."""
    alphabet = string.ascii_lowercase + string.digits
    return "call_" + "".join(secrets.choice(alphabet) for _ in range(8))


def split_tokens(text: str) -> list[str]:
    """Split text into word-sized streaming fragments that join back to ``text``."""
    return re.findall(r"\s*\S+|\s+", text)


class ScriptedServer:
    """What both fake servers share: a reply script, a background uvicorn, request records.

    Subclasses build their Starlette app in ``_app()`` and read ``self._script``.
    """

    def __init__(self) -> None:
        self._script = Script()
        self._server = BackgroundServer(self._app())
        self.url = ""

    def _app(self) -> Any:
        raise NotImplementedError

    @classmethod
    def start(cls, **kwargs: Any) -> Self:
        """Create and start a server (see the class arguments)."""
        server = cls(**kwargs)
        server.url = server._server.start()
        return server

    def close(self) -> None:
        """Stop the server."""
        self._server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def script(self, replies: Iterable[ScriptItem]) -> Self:
        """Queue replies; each model request consumes the next one."""
        self._script.extend(replies)
        return self

    def respond_with(self, responder: Responder | None) -> Self:
        """Answer with ``responder(request_body)`` once the queue is empty."""
        self._script.set_responder(responder)
        return self

    def reset(self) -> None:
        """Forget queued replies, the responder and the recorded requests."""
        self._script.reset()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order."""
        return self._script.requests

    @property
    def remaining(self) -> int:
        """Queued replies not consumed yet."""
        return self._script.remaining
