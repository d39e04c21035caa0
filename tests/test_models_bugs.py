"""One regression test per Ollama bug of the original project (reference-timestep.md §6, §9).

Each runs a real agent through ``timestep.run_agent`` against the fake Ollama server.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from agents import Agent, ModelSettings, RawResponsesStreamEvent, function_tool
from openai.types.shared import Reasoning

from tests.fakes import CLOUD_API_KEY, FakeOllama, Reply, ToolCall
from timestep import consume_result, run_agent
from timestep.models import MultiModelProvider, MultiModelProviderMap, OllamaModelProvider

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nbison").decode()

calls: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """Weather for a city."""
    calls.append(city)
    return f"Sunny in {city}"


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


def _provider(url: str) -> MultiModelProvider:
    provider_map = MultiModelProviderMap()
    provider_map.add_provider("ollama", OllamaModelProvider(base_url=url))
    return MultiModelProvider(provider_map=provider_map)


def _agent(**settings: Any) -> Agent[Any]:
    return Agent(
        name="Assistant",
        instructions="Be brief.",
        model="ollama/llama3.2",
        tools=[get_weather],
        model_settings=ModelSettings(**settings),
    )


async def test_temperature_is_an_option_not_a_chat_kwarg(fake_ollama: FakeOllama) -> None:
    # Original: temperature= passed to AsyncClient.chat → TypeError on every run.
    fake_ollama.script([Reply(text="4")])
    result = await run_agent(
        _agent(temperature=0), "2+2?", model_provider=_provider(fake_ollama.url)
    )
    assert result.final_output == "4"
    body = fake_ollama.chat_requests[0]
    assert body["options"] == {"temperature": 0}
    assert "temperature" not in body


async def test_tool_results_reach_the_model(fake_ollama: FakeOllama) -> None:
    # Original: function_call_output unmatched → empty user messages; results never sent.
    fake_ollama.script(
        [
            Reply(tool_calls=(ToolCall("get_weather", {"city": "Oakland"}, id="call_abc12345"),)),
            Reply(text="Sunny."),
        ]
    )
    await run_agent(_agent(), "Weather in Oakland?", model_provider=_provider(fake_ollama.url))
    messages = fake_ollama.chat_requests[1]["messages"]
    assert messages[-1] == {
        "role": "tool",
        "content": "Sunny in Oakland",
        "tool_name": "get_weather",
        "tool_call_id": "call_abc12345",
    }
    assert not [m for m in messages if m["role"] == "user" and not m["content"]]


async def test_text_next_to_tool_calls_keeps_the_calls(fake_ollama: FakeOllama) -> None:
    # Original (non-streaming): if/elif branches → text won, tool calls were lost.
    fake_ollama.script(
        [
            Reply(text="Let me check.", tool_calls=(ToolCall("get_weather", {"city": "Oakland"}),)),
            Reply(text="Done."),
        ]
    )
    result = await run_agent(_agent(), "Weather?", model_provider=_provider(fake_ollama.url))
    assert calls == ["Oakland"]
    assert result.final_output == "Done."


async def test_streaming_keeps_every_tool_call_and_the_text(fake_ollama: FakeOllama) -> None:
    # Original (streaming): returned at the first tool-call chunk with only the first call.
    both = (
        ToolCall("get_weather", {"city": "Oakland"}),
        ToolCall("get_weather", {"city": "Berkeley"}),
    )
    fake_ollama.script([Reply(text="Checking both.", tool_calls=both), Reply(text="Both sunny.")])
    result = await run_agent(
        _agent(), "Weather?", None, True, model_provider=_provider(fake_ollama.url)
    )
    await consume_result(result)
    assert sorted(calls) == ["Berkeley", "Oakland"]
    assert result.final_output == "Both sunny."
    assistant = fake_ollama.chat_requests[1]["messages"][2]
    assert assistant["content"] == "Checking both."
    assert len(assistant["tool_calls"]) == 2


async def test_streaming_usage_comes_from_the_final_chunk(fake_ollama: FakeOllama) -> None:
    # Original: usage counted only chunks before the tool call; Ollama reports it at the end.
    fake_ollama.script(
        [
            Reply(
                tool_calls=(ToolCall("get_weather", {"city": "A"}),),
                input_tokens=40,
                output_tokens=9,
            ),
            Reply(text="ok", input_tokens=55, output_tokens=3),
        ]
    )
    result = await run_agent(
        _agent(), "Weather?", None, True, model_provider=_provider(fake_ollama.url)
    )
    await consume_result(result)
    usage = result.context_wrapper.usage
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 95, 12)


async def test_reasoning_effort_is_mapped(fake_ollama: FakeOllama) -> None:
    # Original: checked isinstance(reasoning, dict), but ModelSettings.reasoning is a Reasoning.
    fake_ollama.script([Reply(thinking="thinking...", text="ok")])
    await run_agent(
        _agent(reasoning=Reasoning(effort="low")), "q", model_provider=_provider(fake_ollama.url)
    )
    assert fake_ollama.chat_requests[0]["think"] == "low"


async def test_python_image_url_parts_are_sent(fake_ollama: FakeOllama) -> None:
    # Original: only the JS ``image`` key was read; Python ``image_url`` images were dropped.
    fake_ollama.script([Reply(text="A bison.")])
    items: list[Any] = [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {
                    "type": "input_image",
                    "image_url": f"data:image/png;base64,{PNG}",
                    "detail": "auto",
                },
            ],
        }
    ]
    await run_agent(_agent(), items, model_provider=_provider(fake_ollama.url))
    assert fake_ollama.chat_requests[0]["messages"][1]["images"] == [PNG]


async def test_the_first_models_host_does_not_stick(
    fake_ollama: FakeOllama, fake_ollama_cloud: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Original: one client per provider, built for the first model; -cloud sent as is.
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    monkeypatch.setenv("OLLAMA_API_KEY", CLOUD_API_KEY)
    provider_map = MultiModelProviderMap()
    provider_map.add_provider("ollama", OllamaModelProvider(cloud_url=fake_ollama_cloud.url))
    provider = MultiModelProvider(provider_map=provider_map)
    fake_ollama.script([Reply(text="local")])
    fake_ollama_cloud.script([Reply(text="cloud")])
    local = await run_agent(Agent(name="L", model="ollama/llama3.2"), "hi", model_provider=provider)
    cloud = await run_agent(
        Agent(name="C", model="ollama/gpt-oss:20b-cloud"), "hi", model_provider=provider
    )
    assert (local.final_output, cloud.final_output) == ("local", "cloud")
    assert fake_ollama_cloud.chat_requests[0]["model"] == "gpt-oss:20b"


async def test_responses_name_the_real_model(fake_ollama: FakeOllama) -> None:
    # Original: Response(model='ollama') hard-coded in streamed responses.
    fake_ollama.script([Reply(text="ok")])
    result = await run_agent(_agent(), "q", None, True, model_provider=_provider(fake_ollama.url))
    models = [
        event.data.response.model
        async for event in result.stream_events()
        if isinstance(event, RawResponsesStreamEvent) and event.data.type == "response.completed"
    ]
    assert models == ["llama3.2"]
