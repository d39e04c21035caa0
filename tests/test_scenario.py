"""The original project's end-to-end scenario on the Ollama route (reference-timestep.md §7).

"Personal Assistant" with an input guardrail that trips on "moon", an output guardrail that
trips on "47", and a handoff to "Weather Assistant" whose ``get_weather(city)`` needs approval
for Berkeley. Eight inputs share one session; an interrupted run is saved as JSON, loaded,
approved and resumed; a guardrail trip removes the user message from the session. The model is
the fake Ollama server answering from the conversation it receives (a responder, so parallel
guardrails may or may not let the model be called, exactly as with a real server).

Four modes, as in the original: blocking/parallel input guardrail x streamed/not.
"""

from __future__ import annotations

import base64
import json
from typing import Any, cast

import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrail,
    InputGuardrailTripwireTriggered,
    OutputGuardrailTripwireTriggered,
    RunContextWrapper,
    RunState,
    SQLiteSession,
    TResponseInputItem,
    function_tool,
    output_guardrail,
)

from tests.fakes import FakeOllama, Reply, ToolCall
from timestep import consume_result, run_agent
from timestep.models import MultiModelProvider, MultiModelProviderMap, OllamaModelProvider

BISON = base64.b64encode(b"\xff\xd8\xff\xe0JFIF-not-really-a-bison").decode()

INPUTS: list[str | list[dict[str, Any]]] = [
    "What is 2+2?",
    "What's the weather in Oakland?",
    "Multiply that by 3.",
    "What's the weather in Berkeley?",
    "Tell me about the Dark Side of the Moon.",
    "Multiply that by 4 and subtract 1.",
    "Multiply 12 by 4 and subtract 6.",
    [
        {"type": "input_text", "text": "What animal is in this picture?"},
        {"type": "input_image", "image_url": f"data:image/jpeg;base64,{BISON}", "detail": "auto"},
    ],
]

# The session after all eight turns, summarized (kind, text or name, arguments).
EXPECTED_ITEMS: list[tuple[Any, ...]] = [
    ("user", "What is 2+2?"),
    ("assistant", "2 + 2 = 4."),
    ("user", "What's the weather in Oakland?"),
    ("call", "transfer_to_weather_assistant", {}),
    ("output", '{"assistant": "Weather Assistant"}'),
    ("call", "get_weather", {"city": "Oakland"}),
    ("output", "Sunny, 21C in Oakland"),
    ("assistant", "It is sunny, 21C in Oakland."),
    ("user", "Multiply that by 3."),
    ("assistant", "4 x 3 = 12."),
    ("user", "What's the weather in Berkeley?"),
    ("call", "transfer_to_weather_assistant", {}),
    ("output", '{"assistant": "Weather Assistant"}'),
    ("call", "get_weather", {"city": "Berkeley"}),
    ("output", "Sunny, 21C in Berkeley"),
    ("assistant", "It is sunny, 21C in Berkeley."),
    ("user", "Multiply 12 by 4 and subtract 6."),
    ("assistant", "12 x 4 - 6 = 42."),
    ("user", "What animal is in this picture?"),
    ("assistant", "That is an American bison."),
]

weather_lookups: list[str] = []


async def _berkeley_needs_approval(
    _context: RunContextWrapper[Any], params: dict[str, Any], _call_id: str
) -> bool:
    return "berkeley" in str(params.get("city", "")).lower()


@function_tool(needs_approval=_berkeley_needs_approval)
def get_weather(city: str) -> str:
    """Current weather for a city."""
    weather_lookups.append(city)
    return f"Sunny, 21C in {city}"


def _latest_user_text(items: str | list[TResponseInputItem]) -> str:
    if isinstance(items, str):
        return items
    for item in reversed(items):
        if isinstance(item, dict) and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            parts = content if isinstance(content, list) else []
            return " ".join(str(part.get("text", "")) for part in parts if isinstance(part, dict))
    return ""


async def _no_moon(
    _context: RunContextWrapper[Any], _agent: Agent[Any], items: str | list[TResponseInputItem]
) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(
        output_info=None, tripwire_triggered="moon" in _latest_user_text(items).lower()
    )


@output_guardrail
async def no_47(
    _context: RunContextWrapper[Any], _agent: Agent[Any], output: Any
) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered="47" in str(output))


def build_agents(parallel_guardrail: bool) -> Agent[Any]:
    weather = Agent(
        name="Weather Assistant",
        instructions="You are the Weather Assistant. Use get_weather.",
        model="ollama/llama3.2",
        tools=[get_weather],
    )
    return Agent(
        name="Personal Assistant",
        instructions="You are a personal assistant. Hand weather questions to the Weather Assistant.",
        model="ollama/llama3.2",
        handoffs=[weather],
        input_guardrails=[
            InputGuardrail(guardrail_function=_no_moon, run_in_parallel=parallel_guardrail)
        ],
        output_guardrails=[no_47],
    )


def brain(body: dict[str, Any]) -> Reply:
    """The fake model: answers from the conversation Ollama receives, like a tiny LLM would."""
    messages = body["messages"]
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    last = messages[-1]
    user = [m for m in messages if m["role"] == "user"][-1]
    question = user["content"].lower()
    if system.startswith("You are the Weather Assistant"):
        if last["role"] == "tool" and last["tool_name"] == "get_weather":
            city = last["content"].rsplit(" in ", 1)[-1]
            return Reply(text=f"It is sunny, 21C in {city}.")
        city = "Berkeley" if "berkeley" in question else "Oakland"
        return Reply(tool_calls=(ToolCall("get_weather", {"city": city}),))
    if "weather" in question:
        return Reply(tool_calls=(ToolCall("transfer_to_weather_assistant", {}),))
    if user.get("images"):
        return Reply(text="That is an American bison.")
    answers = {
        "2+2": "2 + 2 = 4.",
        "by 3": "4 x 3 = 12.",
        "moon": "An album by Pink Floyd.",
        "subtract 1": "12 x 4 - 1 = 47.",
        "subtract 6": "12 x 4 - 6 = 42.",
    }
    return Reply(text=next(text for key, text in answers.items() if key in question))


def summarize(item: Any) -> tuple[Any, ...]:
    kind = item.get("type")
    if kind == "function_call":
        return ("call", item["name"], json.loads(item["arguments"]))
    if kind == "function_call_output":
        return ("output", item["output"])
    content = item["content"]
    if isinstance(content, list):
        texts = [part.get("text") for part in content if part.get("text")]
        content = " ".join(texts)
    return (item["role"], content)


@pytest.mark.parametrize("parallel", [False, True], ids=["blocking", "parallel"])
@pytest.mark.parametrize("stream", [False, True], ids=["run", "streamed"])
async def test_personal_assistant_scenario(
    fake_ollama: FakeOllama, parallel: bool, stream: bool
) -> None:
    weather_lookups.clear()
    fake_ollama.respond_with(brain)
    provider_map = MultiModelProviderMap()
    provider_map.add_provider("ollama", OllamaModelProvider(base_url=fake_ollama.url))
    provider = MultiModelProvider(provider_map=provider_map)
    agent = build_agents(parallel)
    session = SQLiteSession(f"scenario-{parallel}-{stream}")
    outputs: list[Any] = []

    for turn, content in enumerate(INPUTS):
        before = len(await session.get_items())
        user_input = [cast(TResponseInputItem, {"role": "user", "content": content})]
        try:
            result = await run_agent(agent, user_input, session, stream, model_provider=provider)
            await consume_result(result)
            if result.interruptions:
                assert turn == 3, "only Berkeley needs approval"
                assert [item.name for item in result.interruptions] == ["get_weather"]
                assert weather_lookups == ["Oakland"]
                # Saved as JSON (what RunStateStore persists), loaded, approved, resumed.
                state = await RunState.from_string(agent, result.to_state().to_string())
                for item in state.get_interruptions():
                    state.approve(item)
                result = await run_agent(agent, state, session, stream, model_provider=provider)
                await consume_result(result)
            outputs.append(result.final_output)
        except (InputGuardrailTripwireTriggered, OutputGuardrailTripwireTriggered) as trip:
            outputs.append(type(trip).__name__)
            added = (await session.get_items())[before:]
            assert summarize(added[0]) == ("user", content)
            assert "47." not in str(added), "a blocked answer must not be kept"
            for _ in added:
                await session.pop_item()

    assert outputs == [
        "2 + 2 = 4.",
        "It is sunny, 21C in Oakland.",
        "4 x 3 = 12.",
        "It is sunny, 21C in Berkeley.",
        "InputGuardrailTripwireTriggered",
        "OutputGuardrailTripwireTriggered",
        "12 x 4 - 6 = 42.",
        "That is an American bison.",
    ]
    assert weather_lookups == ["Oakland", "Berkeley"]
    assert [summarize(item) for item in await session.get_items()] == EXPECTED_ITEMS

    requests = fake_ollama.chat_requests
    # Blocking guardrail: the moon question never reaches the model. In parallel it may.
    assert len(requests) == 11 if not parallel else len(requests) in (11, 12)
    assert requests[-1]["messages"][-1]["images"] == [BISON]
    assert all("temperature" not in body for body in requests)
    after_approval = next(
        body for body in requests if body["messages"][-1].get("content") == "Sunny, 21C in Berkeley"
    )
    tool_message = after_approval["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_name"] == "get_weather"
    assert tool_message["tool_call_id"].startswith("call_")
    personal_tools = [tool["function"]["name"] for tool in requests[0]["tools"]]
    assert personal_tools == ["transfer_to_weather_assistant"]
