"""Fake model servers for tests: real HTTP on 127.0.0.1, scripted replies, recorded requests.

* :class:`FakeOllama` speaks Ollama's native API (NDJSON streaming, ``{"error": ...}`` bodies,
  Bearer auth when it plays Ollama Cloud).
* :class:`FakeOpenAI` speaks Chat Completions and Responses (SSE streaming).

Both take the same script vocabulary (:class:`Reply`, :class:`ToolCall`, :class:`ErrorReply`,
or a responder function) and count model requests (``chat_count`` / ``model_count``), so a
durable test can prove that no model call was repeated.

Fixtures (registered for the whole suite by ``tests/conftest.py``): ``fake_ollama`` (a local
daemon), ``fake_ollama_cloud`` (requires ``Bearer`` :data:`CLOUD_API_KEY`) and ``fake_openai``.
Each is one server per test, closed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes._common import ErrorReply, RecordedRequest, Reply, Responder, ScriptItem, ToolCall
from tests.fakes.ollama_server import FakeOllama
from tests.fakes.openai_server import FakeOpenAI

__all__ = [
    "CLOUD_API_KEY",
    "ErrorReply",
    "FakeOllama",
    "FakeOpenAI",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptItem",
    "ToolCall",
    "fake_ollama",
    "fake_ollama_cloud",
    "fake_openai",
]

CLOUD_API_KEY = "ollama-cloud-test-key"


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A fake local Ollama daemon (no auth)."""
    with FakeOllama.start() as server:
        yield server


@pytest.fixture
def fake_ollama_cloud() -> Iterator[FakeOllama]:
    """A fake Ollama Cloud: every request needs ``Authorization: Bearer CLOUD_API_KEY``."""
    with FakeOllama.start(api_key=CLOUD_API_KEY) as server:
        yield server


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server (``fake_openai.base_url``, ``fake_openai.api_key``)."""
    with FakeOpenAI.start() as server:
        yield server
