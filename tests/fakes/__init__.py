"""Fake model servers for tests: real HTTP on 127.0.0.1, scripted replies, recorded requests.

* :class:`FakeOllama` speaks Ollama's native API (NDJSON streaming, ``{"error": ...}`` bodies,
  Bearer auth when it plays Ollama Cloud).
* :class:`FakeOpenAI` speaks Chat Completions and Responses (SSE streaming).

Both take the same script vocabulary (:class:`Reply`, :class:`ToolCall`, :class:`ErrorReply`,
or a responder function) and count model requests (``chat_count`` / ``model_count``), so a
durable test can prove that no model call was repeated.

Fixtures (registered for the whole suite by ``tests/conftest.py``): ``fake_ollama`` (a local
daemon), ``fake_ollama_cloud`` (requires ``Bearer`` :data:`CLOUD_API_KEY`) and ``fake_openai``.
The servers live for the whole session and are reset before each test; a test that needs
its own configuration (``models=``, another key) starts one with ``FakeOllama.start(...)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from agents import ModelSettings
from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import TResponseInputItem, TResponseOutputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelTracing
from agents.tool import Tool
from agents.usage import Usage

from tests.fakes._common import ErrorReply, RecordedRequest, Reply, Responder, ScriptItem, ToolCall
from tests.fakes.ollama_server import FakeOllama
from tests.fakes.openai_server import FakeOpenAI

__all__ = [
    "CLOUD_API_KEY",
    "ErrorReply",
    "FakeOllama",
    "FakeOpenAI",
    "ModelCall",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptItem",
    "ToolCall",
    "call_model",
    "fake_ollama",
    "fake_ollama_cloud",
    "fake_openai",
]

CLOUD_API_KEY = "ollama-cloud-test-key"


@pytest.fixture(scope="session")
def _fake_ollama_server() -> Iterator[FakeOllama]:
    with FakeOllama.start() as server:
        yield server


@pytest.fixture(scope="session")
def _fake_ollama_cloud_server() -> Iterator[FakeOllama]:
    with FakeOllama.start(api_key=CLOUD_API_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def _fake_openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI.start() as server:
        yield server


# One server per session (starting and stopping uvicorn costs ~0.2 s); every test gets it
# reset: empty script, no responder, no recorded requests.


@pytest.fixture
def fake_ollama(_fake_ollama_server: FakeOllama) -> FakeOllama:
    """A fake local Ollama daemon (no auth), reset for this test."""
    _fake_ollama_server.reset()
    return _fake_ollama_server


@pytest.fixture
def fake_ollama_cloud(_fake_ollama_cloud_server: FakeOllama) -> FakeOllama:
    """A fake Ollama Cloud (``Authorization: Bearer CLOUD_API_KEY`` required), reset."""
    _fake_ollama_cloud_server.reset()
    return _fake_ollama_cloud_server


@pytest.fixture
def fake_openai(_fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    """A fake OpenAI-compatible server (``.base_url``, ``.api_key``), reset for this test."""
    _fake_openai_server.reset()
    return _fake_openai_server


@dataclass
class ModelCall:
    """What one direct model call produced (streamed or not)."""

    output: list[TResponseOutputItem]
    usage: Usage
    events: list[TResponseStreamEvent] = field(default_factory=list)


async def call_model(
    model: Model,
    input: str | list[TResponseInputItem],
    *,
    stream: bool,
    instructions: str | None = None,
    settings: ModelSettings | None = None,
    tools: Sequence[Tool] = (),
    output_schema: AgentOutputSchemaBase | None = None,
    handoffs: Sequence[Handoff[Any, Any]] = (),
) -> ModelCall:
    """Drive ``model`` directly, the way the SDK runner does, and collect the result.

    Streamed calls must end with ``response.completed``; its response supplies output and usage.
    """
    args = (
        instructions,
        input,
        settings or ModelSettings(),
        list(tools),
        output_schema,
        list(handoffs),
        ModelTracing.DISABLED,
    )
    if not stream:
        response = await model.get_response(
            *args, previous_response_id=None, conversation_id=None, prompt=None
        )
        return ModelCall(output=list(response.output), usage=response.usage)
    events = [
        event
        async for event in model.stream_response(
            *args, previous_response_id=None, conversation_id=None, prompt=None
        )
    ]
    completed = events[-1]
    assert completed.type == "response.completed", completed.type
    usage = completed.response.usage
    assert usage is not None
    return ModelCall(
        output=list(completed.response.output),
        usage=Usage(
            requests=1,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
        ),
        events=events,
    )
