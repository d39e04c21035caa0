"""A real uvicorn server on 127.0.0.1 (random port) in a background thread.

The thread has its own event loop, like a separate server process would, while the test's loop
keeps hosting the durable runs, so requests and runs really interleave.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette


@contextlib.contextmanager
def running_server(app: Starlette) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<random port>; yields ``http://127.0.0.1:<port>``."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False,
        lifespan="on", timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="inbox-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the inbox test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
