"""Ollama failures become timestep errors with actionable messages (streamed and not)."""

from __future__ import annotations

import socket

import httpx
import pytest
from agents import Agent, ModelSettings, RunConfig, Runner
from agents.models.interface import ModelTracing
from agents.retry import ModelRetryAdviceRequest, ModelRetrySettings, retry_policies

from tests.fakes import CLOUD_API_KEY, ErrorReply, FakeOllama, Reply, call_model
from timestep.errors import (
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelResponseError,
    ModelTimeoutError,
)
from timestep.models import OllamaModel, OllamaModelProvider


@pytest.fixture(params=[False, True], ids=["get_response", "stream_response"])
def stream(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _model(url: str, name: str = "llama3.2", **kwargs: object) -> OllamaModel:
    model = OllamaModelProvider(base_url=url, **kwargs).get_model(name)  # type: ignore[arg-type]
    assert isinstance(model, OllamaModel)
    return model


async def test_unknown_model_says_how_to_pull_it(stream: bool) -> None:
    with FakeOllama.start(models=["llama3.2"]) as server:
        model = _model(server.url, "mistral-nemo")
        with pytest.raises(ModelNotFoundError) as caught:
            await call_model(model, "hi", stream=stream)
    error = caught.value
    assert "ollama pull mistral-nemo" in str(error)
    assert (error.model, error.host) == ("mistral-nemo", server.url)


async def test_scripted_404_is_model_not_found(fake_ollama: FakeOllama, stream: bool) -> None:
    fake_ollama.script([ErrorReply(404, "model '{model}' not found")])
    with pytest.raises(ModelNotFoundError, match=r"ollama pull llama3\.2"):
        await call_model(_model(fake_ollama.url), "hi", stream=stream)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_names_the_host(stream: bool) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(ModelConnectionError) as caught:
        await call_model(_model(url), "hi", stream=stream)
    assert url in str(caught.value)
    assert "ollama serve" in str(caught.value)
    assert caught.value.host == url


async def test_a_hanging_server_trips_the_timeout(fake_ollama: FakeOllama, stream: bool) -> None:
    fake_ollama.script([Reply(text="too late", delay=3.0)])
    model = _model(fake_ollama.url, timeout=httpx.Timeout(0.3, connect=2.0))
    with pytest.raises(ModelTimeoutError) as caught:
        await call_model(model, "hi", stream=stream)
    assert fake_ollama.url in str(caught.value)
    assert "read 0.3s" in str(caught.value)


@pytest.mark.parametrize("status", [400, 429, 500, 502])
async def test_http_errors_carry_status_and_server_message(
    fake_ollama: FakeOllama, stream: bool, status: int
) -> None:
    fake_ollama.script([ErrorReply(status, f"upstream says {status}")])
    with pytest.raises(ModelResponseError) as caught:
        await call_model(_model(fake_ollama.url), "hi", stream=stream)
    assert caught.value.status_code == status
    assert f"upstream says {status}" in str(caught.value)
    assert not isinstance(caught.value, ModelNotFoundError)


async def test_mid_stream_error_line(fake_ollama: FakeOllama) -> None:
    fake_ollama.script([ErrorReply(500, "model runner crashed", mid_stream=True)])
    events = []
    model = _model(fake_ollama.url)
    with pytest.raises(ModelResponseError, match=r"mid-stream.*model runner crashed") as caught:
        async for event in model.stream_response(
            None,
            "hi",
            ModelSettings(),
            [],
            None,
            [],
            ModelTracing.DISABLED,
            previous_response_id=None,
            conversation_id=None,
            prompt=None,
        ):
            events.append(event.type)
    assert caught.value.status_code == 200  # the stream had opened with HTTP 200
    assert "response.output_text.delta" in events  # partial text was streamed first
    assert "response.completed" not in events


async def test_truncated_stream_is_an_error(fake_ollama: FakeOllama) -> None:
    fake_ollama.script([Reply(text="cut off", truncate=True)])
    with pytest.raises(ModelResponseError, match="truncated"):
        await call_model(_model(fake_ollama.url), "hi", stream=True)


async def test_cloud_without_key_is_401_with_a_hint(
    fake_ollama_cloud: FakeOllama, stream: bool
) -> None:
    with pytest.raises(ModelResponseError) as caught:
        await call_model(_model(fake_ollama_cloud.url), "hi", stream=stream)
    assert caught.value.status_code == 401
    assert "OLLAMA_API_KEY" in str(caught.value)


async def test_a_wrong_key_never_appears_in_the_error(fake_ollama_cloud: FakeOllama) -> None:
    secret = "sk-wrong-but-secret"
    with pytest.raises(ModelResponseError) as caught:
        await call_model(_model(fake_ollama_cloud.url, api_key=secret), "hi", stream=False)
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert CLOUD_API_KEY not in str(caught.value)


def test_retry_advice() -> None:
    model = OllamaModel("llama3.2")

    def advice(error: Exception) -> bool | None:
        result = model.get_retry_advice(
            ModelRetryAdviceRequest(error=error, attempt=1, stream=False)
        )
        return None if result is None else result.suggested

    assert advice(ModelConnectionError("down")) is True
    assert advice(ModelTimeoutError("slow")) is True
    assert advice(ModelResponseError("busy", status_code=503)) is True
    assert advice(ModelResponseError("rate", status_code=429)) is True
    assert advice(ModelResponseError("bad", status_code=400)) is None
    assert advice(ModelNotFoundError("gone")) is None


async def test_the_runner_retries_on_advice_and_raises_ours_otherwise(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.script([ErrorReply(503, "loading"), Reply(text="ready")])
    retry = ModelRetrySettings(
        max_retries=1, backoff={"initial_delay": 0.0}, policy=retry_policies.provider_suggested()
    )
    agent = Agent(name="a", model="llama3.2", model_settings=ModelSettings(retry=retry))
    config = RunConfig(model_provider=OllamaModelProvider(base_url=fake_ollama.url))
    result = await Runner.run(agent, "hi", run_config=config)
    assert result.final_output == "ready"
    assert fake_ollama.chat_count == 2

    fake_ollama.script([ErrorReply(400, "bad request")])
    with pytest.raises(ModelError) as caught:
        await Runner.run(agent, "hi", run_config=config)
    assert isinstance(caught.value, ModelResponseError) and caught.value.status_code == 400
