"""OllamaModel against the fake Ollama server: every feature, streamed and not.

Assertions look at both sides: what the SDK gets back (items, usage, events) and what reached
the server (the recorded ``/api/chat`` bodies).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import ollama
import pytest
from agents import Agent, ModelSettings, WebSearchTool, function_tool, handoff
from agents.agent_output import AgentOutputSchema
from agents.models.fake_id import FAKE_RESPONSES_ID
from agents.models.interface import ModelTracing
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
)
from openai.types.shared import Reasoning
from pydantic import BaseModel

from tests.fakes import FakeOllama, Reply, ToolCall, call_model
from timestep.errors import UserError
from timestep.models import OllamaModel, OllamaModelProvider

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake-image-bytes").decode()


@pytest.fixture(params=[False, True], ids=["get_response", "stream_response"])
def stream(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def model(fake_ollama: FakeOllama) -> OllamaModel:
    built = OllamaModelProvider(base_url=fake_ollama.url).get_model("llama3.2")
    assert isinstance(built, OllamaModel)
    return built


def _text(item: Any) -> str:
    assert isinstance(item, ResponseOutputMessage)
    return "".join(getattr(part, "text", "") for part in item.content)


@function_tool
def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"Sunny in {city}"


class Address(BaseModel):
    street: str
    zip_code: str | None = None


@function_tool
def ship(address: Address, express: bool | None = None) -> str:
    """Ship a parcel."""
    return "ok"


async def test_text_reply_usage_and_request_shape(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool
) -> None:
    fake_ollama.script([Reply(text="Hello there, friend.", input_tokens=21, output_tokens=5)])
    result = await call_model(model, "Hi", stream=stream, instructions="Be brief.")
    assert [_text(item) for item in result.output] == ["Hello there, friend."]
    assert (result.usage.input_tokens, result.usage.output_tokens) == (21, 5)
    assert result.usage.total_tokens == 26 and result.usage.requests == 1
    body = fake_ollama.chat_requests[0]
    assert body["model"] == "llama3.2"
    assert body["stream"] is stream
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert body["tools"] == []


async def test_message_forms(fake_ollama: FakeOllama, model: OllamaModel, stream: bool) -> None:
    fake_ollama.script([Reply(text="ok")])
    items: list[Any] = [
        {"role": "developer", "content": "Answer in French."},
        {"role": "user", "content": "plain string"},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "first part"},
                {"type": "input_text", "text": "second part"},
            ],
        },
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "earlier answer", "annotations": []}],
        },
        {"role": "assistant", "content": "easy assistant"},
        {"role": "user", "content": [{"type": "input_text", "text": "last"}]},
    ]
    await call_model(model, items, stream=stream)
    assert fake_ollama.chat_requests[0]["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "plain string"},
        {"role": "user", "content": "first part\nsecond part"},
        {"role": "assistant", "content": "earlier answer"},
        {"role": "assistant", "content": "easy assistant"},
        {"role": "user", "content": "last"},
    ]


PY_TOOL_ROUND = [
    {"role": "user", "content": "Weather in Oakland and Berkeley?"},
    {
        "type": "message",
        "id": FAKE_RESPONSES_ID,
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Checking.", "annotations": []}],
    },
    {
        "type": "function_call",
        "call_id": "call_aaaa1111",
        "name": "get_weather",
        "arguments": '{"city": "Oakland"}',
    },
    {
        "type": "function_call",
        "call_id": "call_bbbb2222",
        "name": "get_weather",
        "arguments": '{"city": "Berkeley"}',
    },
    {"type": "function_call_output", "call_id": "call_aaaa1111", "output": "Sunny"},
    {
        "type": "function_call_output",
        "call_id": "call_bbbb2222",
        "output": [{"type": "input_text", "text": "Foggy"}],
    },
]

JS_TOOL_ROUND = [
    {"type": "message", "role": "user", "content": "Weather in Oakland and Berkeley?"},
    {
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Checking."}],
    },
    {
        "type": "function_call",
        "callId": "call_aaaa1111",
        "name": "get_weather",
        "arguments": '{"city": "Oakland"}',
        "status": "completed",
    },
    {
        "type": "function_call",
        "callId": "call_bbbb2222",
        "name": "get_weather",
        "arguments": '{"city": "Berkeley"}',
        "status": "completed",
    },
    {
        "type": "function_call_result",
        "callId": "call_aaaa1111",
        "name": "get_weather",
        "status": "completed",
        "output": {"type": "text", "text": "Sunny"},
    },
    {
        "type": "function_call_result",
        "callId": "call_bbbb2222",
        "name": "get_weather",
        "status": "completed",
        "output": "Foggy",
    },
]


@pytest.mark.parametrize("items", [PY_TOOL_ROUND, JS_TOOL_ROUND], ids=["python", "js"])
async def test_tool_calls_and_results_reach_the_model(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool, items: list[Any]
) -> None:
    fake_ollama.script([Reply(text="Sunny and foggy.")])
    await call_model(model, items, stream=stream, tools=[get_weather])
    messages = fake_ollama.chat_requests[0]["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_aaaa1111",
                "function": {"name": "get_weather", "arguments": {"city": "Oakland"}},
            },
            {
                "id": "call_bbbb2222",
                "function": {"name": "get_weather", "arguments": {"city": "Berkeley"}},
            },
        ],
    }
    assert messages[2:] == [
        {
            "role": "tool",
            "content": "Sunny",
            "tool_name": "get_weather",
            "tool_call_id": "call_aaaa1111",
        },
        {
            "role": "tool",
            "content": "Foggy",
            "tool_name": "get_weather",
            "tool_call_id": "call_bbbb2222",
        },
    ]


async def test_text_and_several_tool_calls_are_all_kept(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool
) -> None:
    calls = (
        ToolCall("get_weather", {"city": "Oakland"}, id="call_srv00001"),
        ToolCall("get_weather", {"city": "Berkeley"}, id="call_srv00002"),
        ToolCall("get_weather", {"city": "Alameda"}, id="call_srv00003"),
    )
    fake_ollama.script([Reply(text="Let me look these up.", tool_calls=calls)])
    result = await call_model(model, "weather x3", stream=stream, tools=[get_weather])
    assert _text(result.output[0]) == "Let me look these up."
    function_calls = result.output[1:]
    assert all(isinstance(item, ResponseFunctionToolCall) for item in function_calls)
    assert [(c.call_id, c.name, c.arguments) for c in function_calls] == [  # type: ignore[union-attr]
        ("call_srv00001", "get_weather", '{"city": "Oakland"}'),
        ("call_srv00002", "get_weather", '{"city": "Berkeley"}'),
        ("call_srv00003", "get_weather", '{"city": "Alameda"}'),
    ]


async def test_call_ids_are_synthesized_when_the_server_sends_none(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool
) -> None:
    calls = (
        ToolCall("get_weather", {"city": "A"}, id=""),
        ToolCall("get_weather", {"city": "B"}, id=""),
    )
    fake_ollama.script([Reply(tool_calls=calls), Reply(tool_calls=calls)])
    first = await call_model(model, "x", stream=stream, tools=[get_weather])
    second = await call_model(model, "x", stream=stream, tools=[get_weather])
    ids = [
        item.call_id
        for item in first.output + second.output
        if isinstance(item, ResponseFunctionToolCall)
    ]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert all(call_id.startswith("call_") and len(call_id) > len("call_") for call_id in ids)


async def test_images_are_sent_as_base64(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool
) -> None:
    fake_ollama.script([Reply(text="A bison.")])
    items: list[Any] = [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What animal?"},
                {
                    "type": "input_image",
                    "image_url": f"data:image/png;base64,{PNG}",
                    "detail": "auto",
                },
                {"type": "input_image", "image": f"data:image/jpeg;base64,{PNG}"},  # JS dialect
            ],
        }
    ]
    result = await call_model(model, items, stream=stream)
    assert _text(result.output[0]) == "A bison."
    assert fake_ollama.chat_requests[0]["messages"] == [
        {"role": "user", "content": "What animal?", "images": [PNG, PNG]}
    ]


async def test_remote_image_urls_are_refused_clearly(model: OllamaModel) -> None:
    items: list[Any] = [
        {"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}
    ]
    with pytest.raises(UserError, match="base64"):
        await call_model(model, items, stream=False)


@pytest.mark.parametrize(
    ("effort", "think"),
    [("minimal", "low"), ("low", "low"), ("medium", "medium"), ("high", "high"), ("none", False)],
)
async def test_reasoning_effort_maps_to_think(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool, effort: str, think: object
) -> None:
    fake_ollama.script([Reply(text="ok")])
    settings = ModelSettings(reasoning=Reasoning(effort=effort))  # type: ignore[arg-type]
    await call_model(model, "q", stream=stream, settings=settings)
    assert fake_ollama.chat_requests[0]["think"] == think


async def test_no_reasoning_setting_leaves_think_to_the_server(
    fake_ollama: FakeOllama, model: OllamaModel
) -> None:
    fake_ollama.script([Reply(text="ok")])
    await call_model(model, "q", stream=False)
    assert "think" not in fake_ollama.chat_requests[0]


async def test_thinking_is_kept_and_replayed(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool
) -> None:
    fake_ollama.script(
        [
            Reply(
                thinking="The user wants the weather.",
                text="Checking.",
                tool_calls=(ToolCall("get_weather", {"city": "Oakland"}),),
            ),
            Reply(text="Sunny."),
        ]
    )
    settings = ModelSettings(reasoning=Reasoning(effort="high"))
    first = await call_model(
        model, "Weather?", stream=stream, settings=settings, tools=[get_weather]
    )
    reasoning = first.output[0]
    assert isinstance(reasoning, ResponseReasoningItem)
    assert reasoning.content is not None
    assert reasoning.content[0].text == "The user wants the weather."
    assert [type(item) for item in first.output[1:]] == [
        ResponseOutputMessage,
        ResponseFunctionToolCall,
    ]
    call = first.output[2]
    assert isinstance(call, ResponseFunctionToolCall)
    replay: list[Any] = [
        {"role": "user", "content": "Weather?"},
        *[item.model_dump(exclude_unset=True) for item in first.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny"},
    ]
    await call_model(model, replay, stream=stream, settings=settings, tools=[get_weather])
    assistant = fake_ollama.chat_requests[1]["messages"][1]
    assert assistant["thinking"] == "The user wants the weather."
    assert assistant["content"] == "Checking."
    assert assistant["tool_calls"][0]["id"] == call.call_id


class Verdict(BaseModel):
    answer: str
    confidence: float


async def test_structured_output_sends_the_json_schema_as_format(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool
) -> None:
    fake_ollama.script([Reply(text='{"answer": "yes", "confidence": 0.9}')])
    schema = AgentOutputSchema(Verdict)
    result = await call_model(model, "q", stream=stream, output_schema=schema)
    assert fake_ollama.chat_requests[0]["format"] == schema.json_schema()
    assert schema.validate_json(_text(result.output[0])) == Verdict(answer="yes", confidence=0.9)


async def test_model_settings_go_into_options_never_top_level(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool
) -> None:
    fake_ollama.script([Reply(text="ok")])
    settings = ModelSettings(
        temperature=0.2,
        top_p=0.9,
        frequency_penalty=0.1,
        presence_penalty=0.3,
        max_tokens=64,
        extra_args={"seed": 7, "stop": ["\n\n"], "num_ctx": 4096, "keep_alive": "5m"},
    )
    await call_model(model, "q", stream=stream, settings=settings)
    body = fake_ollama.chat_requests[0]
    assert body["options"] == {
        "temperature": 0.2,
        "top_p": 0.9,
        "frequency_penalty": 0.1,
        "presence_penalty": 0.3,
        "num_predict": 64,
        "seed": 7,
        "stop": ["\n\n"],
        "num_ctx": 4096,
    }
    assert body["keep_alive"] == "5m"
    for key in ("temperature", "top_p", "max_tokens", "seed", "stop", "num_predict"):
        assert key not in body


async def test_strict_tool_schemas_reach_the_server_intact(
    fake_ollama: FakeOllama, model: OllamaModel
) -> None:
    fake_ollama.script([Reply(text="ok")])
    await call_model(model, "q", stream=False, tools=[ship])
    sent = fake_ollama.chat_requests[0]["tools"][0]
    assert sent["type"] == "function"
    assert sent["function"]["name"] == "ship"
    assert sent["function"]["description"] == "Ship a parcel."
    parameters = sent["function"]["parameters"]
    assert parameters == ship.params_json_schema
    # The keywords the ollama 0.6.3 client would have dropped:
    assert parameters["additionalProperties"] is False
    assert parameters["properties"]["express"]["anyOf"] == [{"type": "boolean"}, {"type": "null"}]
    address = parameters["$defs"]["Address"]
    assert address["required"] == ["street", "zip_code"]
    assert "properties" in address and "anyOf" in address["properties"]["zip_code"]


async def test_handoffs_are_offered_as_tools(fake_ollama: FakeOllama, model: OllamaModel) -> None:
    fake_ollama.script([Reply(text="ok")])
    weather = Agent(name="Weather Assistant", instructions="weather")
    transfer = handoff(weather)
    await call_model(model, "q", stream=False, tools=[get_weather], handoffs=[transfer])
    tools = fake_ollama.chat_requests[0]["tools"]
    assert [tool["function"]["name"] for tool in tools] == [
        "get_weather",
        "transfer_to_weather_assistant",
    ]
    assert tools[1]["function"]["parameters"] == transfer.input_json_schema


async def test_tool_choice_is_approximated(
    fake_ollama: FakeOllama, model: OllamaModel, caplog: pytest.LogCaptureFixture
) -> None:
    fake_ollama.script([Reply(text="ok")] * 3)
    tools = [get_weather, ship]
    await call_model(
        model, "q", stream=False, tools=tools, settings=ModelSettings(tool_choice="none")
    )
    await call_model(
        model, "q", stream=False, tools=tools, settings=ModelSettings(tool_choice="ship")
    )
    with caplog.at_level(logging.WARNING, logger="timestep.models"):
        await call_model(
            model, "q", stream=False, tools=tools, settings=ModelSettings(tool_choice="required")
        )
    sent = [[t["function"]["name"] for t in body["tools"]] for body in fake_ollama.chat_requests]
    assert sent == [[], ["ship"], ["get_weather", "ship"]]
    assert "cannot be enforced" in caplog.text
    with pytest.raises(UserError, match="names no tool"):
        await call_model(
            model, "q", stream=False, tools=tools, settings=ModelSettings(tool_choice="nope")
        )


async def test_hosted_tools_are_refused(model: OllamaModel) -> None:
    with pytest.raises(UserError, match="hosted tools"):
        await call_model(model, "q", stream=False, tools=[WebSearchTool()])


async def test_stream_events_are_complete_and_ordered(
    fake_ollama: FakeOllama, model: OllamaModel
) -> None:
    calls = (ToolCall("get_weather", {"city": "A"}), ToolCall("get_weather", {"city": "B"}))
    fake_ollama.script(
        [
            Reply(
                thinking="Hmm, two cities.",
                text="On it.",
                tool_calls=calls,
                input_tokens=30,
                output_tokens=12,
            )
        ]
    )
    result = await call_model(model, "q", stream=True, tools=[get_weather])
    numbers = [event.sequence_number for event in result.events]
    assert numbers == list(range(len(numbers)))
    types = [event.type for event in result.events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert types.count("response.output_item.added") == 4
    assert types.count("response.output_item.done") == 4
    assert "response.reasoning_text.delta" in types and "response.output_text.delta" in types
    assert types.count("response.function_call_arguments.done") == 2
    deltas = "".join(e.delta for e in result.events if e.type == "response.output_text.delta")
    assert deltas == "On it."
    done = [e for e in result.events if e.type == "response.output_item.done"]
    done_items = [e.item for e in done]
    assert [e.output_index for e in done] == [0, 1, 2, 3]
    assert [type(item) for item in done_items] == [
        ResponseReasoningItem,
        ResponseOutputMessage,
        ResponseFunctionToolCall,
        ResponseFunctionToolCall,
    ]
    completed = result.events[-1].response  # type: ignore[union-attr]
    assert completed.model == "llama3.2"
    assert completed.status == "completed"
    assert len(completed.output) == 4
    assert completed.usage is not None
    assert (completed.usage.input_tokens, completed.usage.output_tokens) == (30, 12)


async def test_an_ollama_async_client_is_reused_but_chat_is_bypassed(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.script([Reply(text="ok")])
    client = ollama.AsyncClient(host=fake_ollama.url, headers={"X-Team": "blue"})
    model = OllamaModel("llama3.2", ollama_client=client)
    await call_model(model, "q", stream=True, tools=[ship])
    request = fake_ollama.requests[0]
    assert request.headers["x-team"] == "blue"
    assert request.body["tools"][0]["function"]["parameters"] == ship.params_json_schema
    await client.close()  # type: ignore[no-untyped-call]


async def test_a_bare_model_uses_ollama_host(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    fake_ollama.script([Reply(text="ok")])
    model = OllamaModel("llama3.2")
    assert model.host == fake_ollama.url
    result = await call_model(model, "q", stream=False)
    assert _text(result.output[0]) == "ok"


async def test_empty_reply_has_no_output_items(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool
) -> None:
    fake_ollama.script([Reply(text="")])
    result = await call_model(model, "q", stream=stream)
    assert result.output == []


@pytest.mark.parametrize("state", ["previous_response_id", "conversation_id"])
async def test_server_side_conversation_state_is_refused(
    fake_ollama: FakeOllama, model: OllamaModel, stream: bool, state: str
) -> None:
    # The SDK would send only the new items; Ollama would answer without the history.
    kwargs: dict[str, Any] = {
        "previous_response_id": None,
        "conversation_id": None,
        "prompt": None,
        state: "resp_123",
    }
    args: tuple[Any, ...] = (None, "q", ModelSettings(), [], None, [], ModelTracing.DISABLED)
    with pytest.raises(UserError, match="Session"):
        if stream:
            async for _ in model.stream_response(*args, **kwargs):
                pass
        else:
            await model.get_response(*args, **kwargs)
    assert fake_ollama.chat_count == 0
