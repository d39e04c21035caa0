"""``run_agent`` / ``consume_result`` end to end on every model route, streamed and not.

Routes: OpenAI Chat Completions and OpenAI Responses (fake OpenAI server) and Ollama (fake
Ollama server), all through ``MultiModelProvider`` prefix routing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from agents import Agent, ModelSettings, RunResultStreaming, RunState, SQLiteSession, function_tool
from openai import AsyncOpenAI

from tests.fakes import FakeOllama, FakeOpenAI, Reply, ToolCall
from timestep import (
    InterruptionException,
    ModelConnectionError,
    UserError,
    consume_result,
    run_agent,
)
from timestep.models import MultiModelProvider, MultiModelProviderMap, OllamaModelProvider

weather_calls: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    weather_calls.append(city)
    return f"Sunny, 21C in {city}"


@function_tool(needs_approval=True)
def wire_money(amount: int, to: str) -> str:
    """Send money (needs approval)."""
    weather_calls.append(f"wire {amount} to {to}")
    return f"sent {amount} to {to}"


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    weather_calls.clear()
    yield


@dataclass
class Route:
    """One model route: the agent's model name, a provider, and the fake that answers."""

    name: str
    model: str
    provider: MultiModelProvider
    server: FakeOllama | FakeOpenAI

    def script(self, replies: list[Reply]) -> None:
        self.server.script(replies)

    @property
    def requests(self) -> list[dict[str, Any]]:
        if isinstance(self.server, FakeOllama):
            return self.server.chat_requests
        return self.server.model_requests


@pytest.fixture(params=["openai-chat", "openai-responses", "ollama"])
def route(
    request: pytest.FixtureRequest, fake_openai: FakeOpenAI, fake_ollama: FakeOllama
) -> Route:
    if request.param == "ollama":
        provider_map = MultiModelProviderMap()
        provider_map.add_provider("ollama", OllamaModelProvider(base_url=fake_ollama.url))
        return Route(
            "ollama", "ollama/llama3.2", MultiModelProvider(provider_map=provider_map), fake_ollama
        )
    # A client per test: the SDK's shared HTTP client would outlive this test's event loop.
    client = AsyncOpenAI(api_key=fake_openai.api_key, base_url=fake_openai.base_url, max_retries=0)
    use_responses = request.param == "openai-responses"
    provider = MultiModelProvider(openai_client=client, openai_use_responses=use_responses)
    model = "gpt-4.1" if use_responses else "openai/gpt-4.1"
    return Route(request.param, model, provider, fake_openai)


@pytest.fixture(params=[False, True], ids=["run", "streamed"])
def stream(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _tool_output_sent(route: Route, body: dict[str, Any]) -> str:
    """The tool result as the second model request carried it, in the route's own format."""
    if route.name == "openai-chat":
        message = body["messages"][-1]
        assert message["role"] == "tool" and message["tool_call_id"] == "call_route0001"
        return str(message["content"])
    if route.name == "openai-responses":
        item = body["input"][-1]
        assert item["type"] == "function_call_output" and item["call_id"] == "call_route0001"
        return str(item["output"])
    message = body["messages"][-1]
    assert message["role"] == "tool" and message["tool_call_id"] == "call_route0001"
    assert message["tool_name"] == "get_weather"
    return str(message["content"])


async def test_agent_with_tools_on_every_route(route: Route, stream: bool) -> None:
    route.script(
        [
            Reply(
                text="Let me check.",
                tool_calls=(ToolCall("get_weather", {"city": "Oakland"}, id="call_route0001"),),
                input_tokens=20,
                output_tokens=6,
            ),
            Reply(text="It is sunny in Oakland.", input_tokens=30, output_tokens=8),
        ]
    )
    agent = Agent(
        name="Assistant",
        instructions="Use tools.",
        model=route.model,
        tools=[get_weather],
        # Chat Completions streams report usage only when asked (stream_options.include_usage).
        model_settings=ModelSettings(include_usage=True),
    )
    result = await run_agent(
        agent, "Weather in Oakland?", None, stream, model_provider=route.provider
    )
    if stream:
        assert isinstance(result, RunResultStreaming)
        assert await consume_result(result) is result
    assert result.final_output == "It is sunny in Oakland."
    assert weather_calls == ["Oakland"]
    assert len(route.requests) == 2
    assert _tool_output_sent(route, route.requests[1]) == "Sunny, 21C in Oakland"
    usage = result.context_wrapper.usage
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 50, 14)


async def test_consume_result_is_a_no_op_for_finished_runs(fake_ollama: FakeOllama) -> None:
    fake_ollama.script([Reply(text="hi")])
    provider = OllamaModelProvider(base_url=fake_ollama.url)
    result = await run_agent(Agent(name="a", model="llama3.2"), "hi", model_provider=provider)
    assert await consume_result(result) is result


def _approval_agent(model: str) -> Agent[Any]:
    return Agent(name="Banker", instructions="Do as told.", model=model, tools=[wire_money])


def _wire_script() -> list[Reply]:
    return [
        Reply(tool_calls=(ToolCall("wire_money", {"amount": 5, "to": "Ann"}, id="call_wire0001"),)),
        Reply(text="Sent."),
    ]


async def test_interruption_then_approve_and_resume_from_json(route: Route, stream: bool) -> None:
    route.script(_wire_script())
    agent = _approval_agent(route.model)
    result = await run_agent(agent, "Pay Ann 5", None, stream, model_provider=route.provider)
    await consume_result(result)
    assert [item.name for item in result.interruptions] == ["wire_money"]
    assert weather_calls == []

    # The state crosses a process boundary as JSON; approve on the restored copy.
    saved = result.to_state().to_string()
    state = await RunState.from_string(agent, saved)
    for item in state.get_interruptions():
        state.approve(item)
    resumed = await run_agent(agent, state, None, stream, model_provider=route.provider)
    await consume_result(resumed)
    assert resumed.final_output == "Sent."
    assert weather_calls == ["wire 5 to Ann"]
    assert len(route.requests) == 2  # the approved call did not re-ask the model


async def test_rejection_reaches_the_model(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(_wire_script())
    provider = OllamaModelProvider(base_url=fake_ollama.url)
    agent = _approval_agent("llama3.2")
    result = await run_agent(agent, "Pay Ann 5", model_provider=provider)
    state = result.to_state()
    state.reject(state.get_interruptions()[0], rejection_message="Not today.")
    resumed = await run_agent(agent, state, model_provider=provider)
    assert resumed.final_output == "Sent."
    assert weather_calls == []
    tool_message = fake_ollama.chat_requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["content"] == "Not today."


async def test_raise_on_interruption(fake_ollama: FakeOllama, stream: bool) -> None:
    fake_ollama.script(_wire_script()[:1])
    provider = OllamaModelProvider(base_url=fake_ollama.url)
    agent = _approval_agent("llama3.2")
    with pytest.raises(InterruptionException) as caught:
        result = await run_agent(
            agent, "Pay Ann 5", None, stream, model_provider=provider, raise_on_interruption=True
        )
        await consume_result(result)
    error = caught.value
    assert [item.name for item in error.interruptions] == ["wire_money"]
    assert isinstance(error.state, RunState)
    assert "wire_money" in str(error)


async def test_session_history_is_sent_and_kept(route: Route, stream: bool) -> None:
    route.script([Reply(text="Nice to meet you, Ada."), Reply(text="Your name is Ada.")])
    session = SQLiteSession("conversation-1")
    agent = Agent(name="Assistant", model=route.model)
    for text in ("I am Ada.", "What is my name?"):
        result = await run_agent(agent, text, session, stream, model_provider=route.provider)
        await consume_result(result)
    assert result.final_output == "Your name is Ada."
    second = route.requests[1]
    sent = second.get("messages") or second.get("input")
    assert "I am Ada." in str(sent) and "Nice to meet you, Ada." in str(sent)
    items = await session.get_items()
    assert len(items) == 4  # two user messages, two assistant messages


async def test_list_input_and_bad_input(fake_ollama: FakeOllama) -> None:
    fake_ollama.script([Reply(text="ok")])
    provider = OllamaModelProvider(base_url=fake_ollama.url)
    agent = Agent(name="a", model="llama3.2")
    result = await run_agent(agent, [{"role": "user", "content": "hi"}], model_provider=provider)
    assert result.final_output == "ok"
    with pytest.raises(UserError):
        await run_agent(agent, 42, model_provider=provider)  # type: ignore[call-overload]


async def test_default_provider_routes_ollama_via_ollama_host(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    fake_ollama.script([Reply(text="from the default provider")])
    result = await run_agent(Agent(name="a", model="ollama/llama3.2"), "hi")
    assert result.final_output == "from the default provider"


async def test_model_errors_surface_as_timestep_errors(stream: bool) -> None:
    provider = OllamaModelProvider(base_url="http://127.0.0.1:9")
    agent = Agent(name="a", model="llama3.2")
    with pytest.raises(ModelConnectionError, match=r"127\.0\.0\.1:9"):
        result = await run_agent(agent, "hi", None, stream, model_provider=provider)
        await consume_result(result)
