"""Model routing: prefixes (MultiModelProvider) and Ollama host selection per model."""

from __future__ import annotations

import asyncio

import httpx
import ollama
import pytest
from agents.models.default_models import get_default_model
from agents.models.interface import Model, ModelProvider
from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from agents.models.openai_responses import OpenAIResponsesModel
from openai import AsyncOpenAI
from openai.types.responses import ResponseOutputMessage

from tests.fakes import CLOUD_API_KEY, FakeOllama, FakeOpenAI, Reply, call_model
from timestep.errors import ConfigurationError, UserError
from timestep.models import (
    DEFAULT_TIMEOUT,
    MultiModelProvider,
    MultiModelProviderMap,
    OllamaModel,
    OllamaModelProvider,
)
from timestep.models._ollama_hosts import normalize_host, resolve_target, strip_cloud_suffix

LOCAL = "http://localhost:11434"
CLOUD = "https://ollama.com"


# -- prefix routing --------------------------------------------------------------------------


def test_construction_needs_no_openai_key() -> None:
    provider = MultiModelProvider()
    assert isinstance(provider.get_model("ollama/llama3.2"), OllamaModel)


@pytest.mark.parametrize(
    ("name", "expected"), [("gpt-4.1", "gpt-4.1"), ("openai/gpt-4.1", "gpt-4.1"), (None, None)]
)
def test_no_prefix_or_openai_prefix_routes_to_openai(
    fake_openai: FakeOpenAI, name: str | None, expected: str | None
) -> None:
    provider = MultiModelProvider(
        openai_api_key=fake_openai.api_key, openai_base_url=fake_openai.base_url
    )
    model = provider.get_model(name)
    assert isinstance(model, OpenAIResponsesModel)
    assert model.model == (expected or get_default_model())


def test_openai_use_responses_false_gives_chat_completions(fake_openai: FakeOpenAI) -> None:
    client = AsyncOpenAI(api_key=fake_openai.api_key, base_url=fake_openai.base_url)
    provider = MultiModelProvider(openai_client=client, openai_use_responses=False)
    assert isinstance(provider.get_model("openai/gpt-4.1"), OpenAIChatCompletionsModel)


def test_openai_client_with_other_openai_args_is_refused() -> None:
    client = AsyncOpenAI(api_key="sk-x", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ConfigurationError, match="openai_client"):
        MultiModelProvider(openai_client=client, openai_api_key="sk-y")


def test_ollama_name_is_everything_after_the_first_slash() -> None:
    model = MultiModelProvider().get_model("ollama/hf.co/org/model:q4")
    assert isinstance(model, OllamaModel)
    assert model.model == "hf.co/org/model:q4"


def test_the_ollama_provider_is_created_once() -> None:
    provider = MultiModelProvider()
    first = provider.get_model("ollama/llama3.2")
    second = provider.get_model("ollama/qwen3")
    assert isinstance(first, OllamaModel) and isinstance(second, OllamaModel)
    assert first._connection is second._connection


class RecordingProvider(ModelProvider):
    def __init__(self, model: Model | None = None) -> None:
        self.names: list[str | None] = []
        self.closed = 0
        self.model = model or OllamaModel("unused")

    def get_model(self, model_name: str | None) -> Model:
        self.names.append(model_name)
        return self.model

    async def aclose(self) -> None:
        self.closed += 1


def test_a_mapped_prefix_wins_over_the_builtins() -> None:
    mapped = RecordingProvider()
    provider_map = MultiModelProviderMap()
    provider_map.add_provider("ollama", mapped)
    provider_map.add_provider("openai", mapped)
    provider_map.add_provider("lab", mapped)
    provider = MultiModelProvider(provider_map=provider_map)
    provider.get_model("ollama/llama3.2")
    provider.get_model("openai/gpt-4.1")
    provider.get_model("lab/a/b")
    assert mapped.names == ["llama3.2", "gpt-4.1", "a/b"]


def test_unknown_prefix_lists_the_known_ones() -> None:
    provider_map = MultiModelProviderMap()
    provider_map.add_provider("lab", RecordingProvider())
    with pytest.raises(UserError) as caught:
        MultiModelProvider(provider_map=provider_map).get_model("mystery/model")
    message = str(caught.value)
    assert "'mystery'" in message
    for prefix in ("lab", "ollama", "openai"):
        assert prefix in message


def test_provider_map_api() -> None:
    first, second = RecordingProvider(), RecordingProvider()
    provider_map = MultiModelProviderMap()
    assert not provider_map.has_prefix("a")
    provider_map.add_provider("a", first)
    assert provider_map.has_prefix("a") and provider_map.get_provider("a") is first
    copy = provider_map.get_mapping()
    copy["b"] = second
    assert not provider_map.has_prefix("b"), "get_mapping must return a copy"
    provider_map.set_mapping({"b": second})
    assert provider_map.get_mapping() == {"b": second}
    provider_map.remove_provider("b")
    provider_map.remove_provider("b")  # removing twice is harmless
    assert provider_map.get_provider("b") is None
    with pytest.raises(UserError):
        provider_map.add_provider("a/b", first)


async def test_aclose_closes_each_child_once() -> None:
    shared = RecordingProvider()
    provider_map = MultiModelProviderMap()
    provider_map.add_provider("x", shared)
    provider_map.add_provider("y", shared)
    provider = MultiModelProvider(provider_map=provider_map)
    provider.get_model("ollama/llama3.2")
    await provider.aclose()
    assert shared.closed == 1


# -- Ollama host selection (pure) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "kwargs", "env", "host", "name", "key"),
    [
        ("llama3.2", {}, {}, LOCAL, "llama3.2", None),
        ("llama3.2", {}, {"OLLAMA_HOST": "gpu-box:8080"}, "http://gpu-box:8080", "llama3.2", None),
        ("llama3.2", {"api_key": "key-arg"}, {}, CLOUD, "llama3.2", "key-arg"),
        ("llama3.2", {}, {"OLLAMA_API_KEY": "key-env"}, CLOUD, "llama3.2", "key-env"),
        (
            "llama3.2",
            {},
            {"OLLAMA_API_KEY": "key-env", "OLLAMA_HOST": "box"},
            "http://box:11434",
            "llama3.2",
            None,
        ),
        (
            "gpt-oss:20b-cloud",
            {},
            {"OLLAMA_API_KEY": "key-env", "OLLAMA_HOST": "box"},
            CLOUD,
            "gpt-oss:20b",
            "key-env",
        ),
        ("gpt-oss:20b-cloud", {"api_key": "key-arg"}, {}, CLOUD, "gpt-oss:20b", "key-arg"),
        ("glm-4.6:cloud", {"api_key": "key-arg"}, {}, CLOUD, "glm-4.6", "key-arg"),
        # No key: the signed-in local daemon serves -cloud names itself.
        ("gpt-oss:20b-cloud", {}, {}, LOCAL, "gpt-oss:20b-cloud", None),
        (
            "llama3.2",
            {"base_url": "http://remote:1234/"},
            {"OLLAMA_API_KEY": "key-env"},
            "http://remote:1234",
            "llama3.2",
            None,
        ),
        (
            "gpt-oss:20b-cloud",
            {"base_url": "http://remote:1234", "api_key": "key-arg"},
            {},
            "http://remote:1234",
            "gpt-oss:20b-cloud",
            "key-arg",
        ),
        (
            "gpt-oss:20b-cloud",
            {"base_url": "https://ollama.com/"},
            {"OLLAMA_API_KEY": "key-env"},
            CLOUD,
            "gpt-oss:20b",
            "key-env",
        ),
    ],
)
def test_resolve_target(
    model: str, kwargs: dict[str, str], env: dict[str, str], host: str, name: str, key: str | None
) -> None:
    target = resolve_target(model, env=env, **kwargs)
    assert (target.host, target.model, target.api_key) == (host, name, key)
    assert target.is_cloud == (host == CLOUD)
    if key:
        assert key not in repr(target)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("localhost", "http://localhost:11434"),
        (":8080", "http://127.0.0.1:8080"),
        ("10.0.0.5:9000/", "http://10.0.0.5:9000"),
        ("https://ollama.com/", "https://ollama.com"),
        ("http://127.0.0.1:5555", "http://127.0.0.1:5555"),
    ],
)
def test_normalize_host(raw: str, normalized: str) -> None:
    assert normalize_host(raw) == normalized


def test_strip_cloud_suffix() -> None:
    assert strip_cloud_suffix("gpt-oss:120b-cloud") == "gpt-oss:120b"
    assert strip_cloud_suffix("glm-4.6:cloud") == "glm-4.6"
    assert strip_cloud_suffix("llama3.2") == "llama3.2"


# -- Ollama host selection (live, two fake servers) -----------------------------------------


async def test_local_and_cloud_models_through_one_provider(
    fake_ollama: FakeOllama, fake_ollama_cloud: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    monkeypatch.setenv("OLLAMA_API_KEY", CLOUD_API_KEY)
    fake_ollama.script([Reply(text="local 1"), Reply(text="local 2")])
    fake_ollama_cloud.script([Reply(text="cloud")])
    provider = OllamaModelProvider(cloud_url=fake_ollama_cloud.url)

    answers = []
    for name in ("llama3.2", "gpt-oss:20b-cloud", "llama3.2"):
        result = await call_model(provider.get_model(name), "hi", stream=False)
        item = result.output[0]
        assert isinstance(item, ResponseOutputMessage)
        answers.append(item.content[0].text)  # type: ignore[union-attr]
    assert answers == ["local 1", "cloud", "local 2"]

    cloud_request = fake_ollama_cloud.requests[0]
    assert cloud_request.headers["authorization"] == f"Bearer {CLOUD_API_KEY}"
    assert cloud_request.body["model"] == "gpt-oss:20b"
    assert [r.body["model"] for r in fake_ollama.requests] == ["llama3.2", "llama3.2"]
    assert all("authorization" not in r.headers for r in fake_ollama.requests)
    await provider.aclose()


async def test_cloud_first_does_not_stick(
    fake_ollama: FakeOllama, fake_ollama_cloud: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    monkeypatch.setenv("OLLAMA_API_KEY", CLOUD_API_KEY)
    fake_ollama_cloud.script([Reply(text="cloud")])
    fake_ollama.script([Reply(text="local")])
    provider = OllamaModelProvider(cloud_url=fake_ollama_cloud.url)
    cloud = provider.get_model("qwen3-coder:480b-cloud")
    assert isinstance(cloud, OllamaModel) and cloud.host == fake_ollama_cloud.url
    await call_model(cloud, "hi", stream=True)
    local = provider.get_model("llama3.2")
    assert isinstance(local, OllamaModel) and local.host == fake_ollama.url
    await call_model(local, "hi", stream=True)
    assert fake_ollama_cloud.chat_count == 1 and fake_ollama.chat_count == 1
    await provider.aclose()


def test_ollama_client_with_key_or_base_url_is_a_value_error() -> None:
    client = ollama.AsyncClient(host="http://127.0.0.1:9")
    for kwargs in ({"api_key": "k"}, {"base_url": "http://x"}):
        with pytest.raises(ValueError, match="ollama_client") as caught:
            OllamaModelProvider(ollama_client=client, **kwargs)  # type: ignore[arg-type]
        assert isinstance(caught.value, ConfigurationError)


def test_ollama_needs_a_model_name() -> None:
    with pytest.raises(ConfigurationError):
        OllamaModelProvider().get_model(None)


def test_timeouts_are_always_explicit() -> None:
    model = OllamaModelProvider().get_model("llama3.2")
    assert isinstance(model, OllamaModel)
    assert model._connection.timeout == DEFAULT_TIMEOUT
    assert DEFAULT_TIMEOUT.read == 300 and DEFAULT_TIMEOUT.connect == 10
    custom = OllamaModelProvider(timeout=12.5).get_model("llama3.2")
    assert isinstance(custom, OllamaModel)
    assert custom._connection.timeout == httpx.Timeout(12.5)


def test_the_api_key_never_shows() -> None:
    secret = "sk-ollama-very-secret"
    provider = OllamaModelProvider(api_key=secret)
    model = provider.get_model("llama3.2")
    assert isinstance(model, OllamaModel)
    for text in (repr(provider), repr(model), repr(model._connection), str(provider.resolve("x"))):
        assert secret not in text


async def test_aclose_then_reuse(fake_ollama: FakeOllama) -> None:
    fake_ollama.script([Reply(text="a"), Reply(text="b")])
    provider = OllamaModelProvider(base_url=fake_ollama.url)
    model = provider.get_model("llama3.2")
    await call_model(model, "q", stream=False)
    await provider.aclose()
    await call_model(model, "q", stream=False)  # a fresh client is opened
    assert fake_ollama.chat_count == 2
    await provider.aclose()


def test_one_provider_works_across_event_loops(fake_ollama: FakeOllama) -> None:
    # DBOS workers and per-test loops call the same provider from different loops.
    fake_ollama.script([Reply(text="a"), Reply(text="b")])
    model = OllamaModelProvider(base_url=fake_ollama.url).get_model("llama3.2")
    for _ in range(2):
        asyncio.run(call_model(model, "q", stream=True))
    assert fake_ollama.chat_count == 2
