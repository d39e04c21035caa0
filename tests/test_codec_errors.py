"""The codec fails closed, with timestep's own errors and the reason in them.

Decode: malformed JSON/shape -> SnapshotFormatError, unknown or newer ``$schemaVersion`` ->
SnapshotVersionError, agent names outside the graph -> UnknownAgentError, JS-only features ->
UnsupportedFeatureError naming the feature. Encode: every feature outside the supported subset
-> UnsupportedFeatureError naming it. Never the SDK's redacted RuntimeError.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from agents import Agent, RunContextWrapper, Runner, RunState, ToolOutputImage, function_tool
from agents.testing import ScriptedModel, function_call
from crosslang import golden
from crosslang.py_driver import Recorder, make_agents
from openai.types.responses import ResponseReasoningItem
from openai.types.responses.response_reasoning_item import Summary

from timestep.errors import (
    SnapshotFormatError,
    SnapshotVersionError,
    UnknownAgentError,
    UnsupportedFeatureError,
)
from timestep.state.codec import decode_js, encode_js
from timestep.state.codec._encode import encode_py_json

Mutation = Callable[[dict[str, Any]], None]


def _mailer() -> Agent[Any]:
    return make_agents("basic", Recorder())["Mailer"]


def _js(name: str = "basic_approved") -> dict[str, Any]:
    return copy.deepcopy(golden.load(f"js-0.20.0/{name}.json"))


def _py(name: str = "basic_approved") -> dict[str, Any]:
    return copy.deepcopy(golden.load(f"py-0.24.0/{name}.json"))


# --- decode: format and version --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "not json {",
        "",
        "[1, 2]",
        '"a string"',
        "{}",
        '{"$schemaVersion": 1.22}',
        '{"$schemaVersion": null}',
    ],
)
async def test_decode_rejects_malformed_json(text: str) -> None:
    with pytest.raises(SnapshotFormatError):
        await decode_js(_mailer(), text)


@pytest.mark.parametrize("version", ["1.23", "2.0", "1.21", "1.0", "9.99", "latest"])
async def test_decode_rejects_other_schema_versions(version: str) -> None:
    data = _js()
    data["$schemaVersion"] = version
    with pytest.raises(SnapshotVersionError, match=version.replace(".", r"\.")):
        await decode_js(_mailer(), data)


async def test_decode_points_python_native_snapshots_elsewhere() -> None:
    with pytest.raises(SnapshotVersionError, match="Python-native"):
        await decode_js(_mailer(), json.dumps(_py()))


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is _DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


_DELETE = object()
SHAPE_ERRORS: dict[str, Mutation] = {
    "no generatedItems": _set("generatedItems", _DELETE),
    "generatedItems not a list": _set("generatedItems", {"0": 1}),
    "null context object": _set("context.context", None),
    "no approvalInvocations": _set("context.approvalInvocations", _DELETE),
    "no completedToolInvocations (1.18+)": _set("completedToolInvocations", _DELETE),
    "currentTurn as text": _set("currentTurn", "1"),
    "boolean maxTurns": _set("maxTurns", True),
    "item without rawItem": _set("generatedItems.0.rawItem", None),
    "function call without callId": _set("generatedItems.0.rawItem.callId", None),
    "unknown step type": _set("currentStep.type", "next_step_teleport"),
    "agent without a name": _set("currentAgent", {"identity": "x"}),
}


@pytest.mark.parametrize("mutate", SHAPE_ERRORS.values(), ids=SHAPE_ERRORS.keys())
async def test_decode_rejects_bad_shapes(mutate: Mutation) -> None:
    data = _js()
    mutate(data)
    with pytest.raises(SnapshotFormatError):
        await decode_js(_mailer(), data)


UNKNOWN_AGENTS: dict[str, Mutation] = {
    "current agent": _set("currentAgent", {"name": "Ghost"}),
    "item agent": _set("generatedItems.0.agent", {"name": "Ghost"}),
    "interruption agent": _set("currentStep.data.interruptions.0.agent", {"name": "Ghost"}),
    "decision owner": _set("context.functionApprovals.0.agentIdentity", "Ghost"),
    "binding owner": _set("context.approvalInvocations.0.agentIdentity", "Ghost"),
    "tool-use tracker": _set("toolUseTracker", {"Ghost": ["send_email"]}),
}


@pytest.mark.parametrize("mutate", UNKNOWN_AGENTS.values(), ids=UNKNOWN_AGENTS.keys())
async def test_decode_rejects_unknown_agents(mutate: Mutation) -> None:
    data = _js()
    mutate(data)
    with pytest.raises(UnknownAgentError, match="Ghost"):
        await decode_js(_mailer(), data)


async def test_decode_rejects_a_graph_without_the_pending_tool() -> None:
    # Python would silently drop the pending call (and its approval) otherwise.
    bare = Agent(name="Mailer", instructions="no tools")
    with pytest.raises(SnapshotFormatError, match="send_email"):
        await decode_js(bare, _js())


async def test_decode_rejects_a_decision_bound_to_other_arguments() -> None:
    data = _js()
    call = data["currentStep"]["data"]["interruptions"][0]["rawItem"]
    forged = json.loads(call["arguments"]) | {"to": "mallory@example.com"}
    binding = data["context"]["approvalInvocations"][0]["invocations"]
    binding["call_1"] = binding["call_1"].replace("bob@example.com", forged["to"])
    with pytest.raises(SnapshotFormatError, match="bound to different arguments"):
        await decode_js(_mailer(), data)


async def test_decode_wraps_sdk_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Error details are redacted.")

    monkeypatch.setattr(RunState, "from_json", refuse)
    with pytest.raises(SnapshotFormatError, match="refused the translated snapshot"):
        await decode_js(_mailer(), _js())


# --- decode: JS-only features -----------------------------------------------------------------

_JS_FUNCTION = {"type": "function_call", "callId": "c9", "name": "send_email", "arguments": "{}"}
JS_UNSUPPORTED: dict[str, tuple[Mutation, str]] = {
    "nested run": (_set("pendingAgentToolRuns", {"k": "{}"}), "agents-as-tools (nested runs)"),
    "tool input": (_set("context.toolInput", {"q": 1}), "agents-as-tools (nested runs)"),
    "conversation id": (
        _set("conversationId", "conv_1"),
        "server-managed conversations (conversation_id)",
    ),
    "previous response": (
        _set("previousResponseId", "resp_1"),
        "server-managed conversations (previous_response_id)",
    ),
    "sandbox": (_set("sandbox", {"backendId": "x"}), "sandbox agents"),
    "session write": (_set("pendingSessionWrite", {"phase": "prepared"}), "pending session writes"),
    "pending input": (
        _set("pendingInput", [{"role": "user", "content": "more"}]),
        "pending input (RunState.add_input)",
    ),
    "tool guardrails": (
        _set("toolInputGuardrailResults", [{"guardrail": {"type": "tool_input", "name": "g"}}]),
        "tool guardrail results",
    ),
    "reasoning": (
        lambda d: d["generatedItems"].insert(
            0,
            {
                "type": "reasoning_item",
                "rawItem": {"type": "reasoning", "content": []},
                "agent": {"name": "Mailer"},
            },
        ),
        "reasoning items",
    ),
    "hosted tool": (
        lambda d: d["modelResponses"][0]["output"].append(
            {"type": "hosted_tool_call", "name": "web_search_call"}
        ),
        "hosted tools",
    ),
    "shell": (
        _set("generatedItems.0.rawItem", {"type": "shell_call", "callId": "s", "action": {}}),
        "the shell tool",
    ),
    "computer": (
        _set("generatedItems.0.rawItem", {"type": "computer_call", "callId": "c", "action": {}}),
        "the computer tool",
    ),
    "compaction": (
        lambda d: d["generatedItems"].append(
            {
                "type": "compaction_item",
                "rawItem": {"type": "compaction", "encrypted_content": "x"},
                "agent": {"name": "Mailer"},
            }
        ),
        "compaction items",
    ),
    "structured output": (
        lambda d: d["generatedItems"].append(
            {
                "type": "tool_call_output_item",
                "rawItem": {
                    "type": "function_call_result",
                    "name": "send_email",
                    "callId": "call_1",
                    "status": "completed",
                    "output": [{"type": "input_image", "image": "https://x/y.png"}],
                },
                "agent": {"name": "Mailer"},
                "output": "",
            }
        ),
        "structured tool outputs",
    ),
    "namespaced call": (
        _set("generatedItems.0.rawItem.namespace", "crm"),
        "namespaced or deferred tools",
    ),
    "mcp approval": (
        _set("lastProcessedResponse.mcpApprovalRequests", [{"requestItem": {}}]),
        "MCP tools",
    ),
    "mcp binding": (
        _set(
            "lastProcessedResponse.functions.0.mcpToolBinding",
            {"serverName": "s", "toolName": "t", "serverIndex": 0},
        ),
        "MCP tools",
    ),
    "hosted mcp approvals": (
        _set("context.hostedMcpApprovals", {"k": {"approved": True, "rejected": []}}),
        "MCP tools",
    ),
    "duplicate names": (
        _set("currentAgent", {"name": "Mailer", "identity": "Mailer#2"}),
        "duplicate agent names",
    ),
    "handoff step": (
        _set("currentStep", {"type": "next_step_handoff", "newAgent": {}}),
        "mid-handoff checkpoints",
    ),
    "accepted response": (
        _set("currentStep.data.responseAccepted", True),
        "server-accepted response checkpoints",
    ),
    "image input": (
        _set(
            "originalInput",
            [{"role": "user", "content": [{"type": "input_image", "image": "https://x"}]}],
        ),
        "non-text input content",
    ),
    "developer message": (
        _set("originalInput", [{"role": "developer", "content": "x"}]),
        "developer messages",
    ),
    "non-function approvals": (
        _set("context.approvals", {"shell": {"approved": True, "rejected": []}}),
        "approvals for non-function tools",
    ),
}


@pytest.mark.parametrize(("mutate", "feature"), JS_UNSUPPORTED.values(), ids=JS_UNSUPPORTED.keys())
async def test_decode_refuses_js_only_features(mutate: Mutation, feature: str) -> None:
    data = _js()
    mutate(data)
    with pytest.raises(UnsupportedFeatureError) as caught:
        await decode_js(_mailer(), data)
    assert caught.value.feature == feature
    assert feature in str(caught.value)


# --- encode: features outside the subset ---------------------------------------------------------

_PY_CALL = {"type": "function_call", "call_id": "c9", "name": "send_email", "arguments": "{}"}


def _generated(item: dict[str, Any]) -> Mutation:
    return lambda d: d["generated_items"].insert(0, item | {"agent": {"name": "Mailer"}})


PY_UNSUPPORTED: dict[str, tuple[Mutation, str]] = {
    "pending input": (
        _set("pending_input", [{"role": "user", "content": "x"}]),
        "pending input (RunState.add_input)",
    ),
    "conversation id": (
        _set("conversation_id", "conv_1"),
        "server-managed conversations (conversation_id)",
    ),
    "previous response": (
        _set("previous_response_id", "resp_1"),
        "server-managed conversations (previous_response_id)",
    ),
    "auto previous response": (
        _set("auto_previous_response_id", True),
        "server-managed conversations (auto_previous_response_id)",
    ),
    "session write": (_set("pending_session_write", {"session_id": "s"}), "pending session writes"),
    "sandbox": (_set("sandbox", {"x": 1}), "sandbox agents"),
    "nested history": (
        _set("nested_history_owned_session_item_refs", [{"index": 0}]),
        "agents-as-tools (nested runs)",
    ),
    "model_dump context": (
        _set("context.context_meta.serialized_via", "model_dump"),
        "non-mapping contexts",
    ),
    "tool input": (_set("context.tool_input", {"q": 1}), "agents-as-tools (nested runs)"),
    "tool guardrails": (
        _set("tool_output_guardrail_results", [{"x": 1}]),
        "tool guardrail results",
    ),
    "hosted mcp approvals": (_set("context.hosted_mcp_approvals", [{"identity": {}}]), "MCP tools"),
    "non-function approvals": (
        _set("context.approvals", {"shell": {"approved": True}}),
        "approvals for non-function tools",
    ),
    "reasoning": (
        _generated({"type": "reasoning_item", "raw_item": {"type": "reasoning", "summary": []}}),
        "reasoning items",
    ),
    "hosted tool": (
        lambda d: d["model_responses"][0]["output"].append(
            {"type": "web_search_call", "id": "ws", "status": "completed"}
        ),
        "hosted tools",
    ),
    "computer": (
        _generated(
            {"type": "tool_call_item", "raw_item": {"type": "computer_call", "call_id": "c"}}
        ),
        "the computer tool",
    ),
    "shell": (
        _generated({"type": "tool_call_item", "raw_item": {"type": "shell_call", "call_id": "s"}}),
        "the shell tool",
    ),
    "local shell": (
        _generated(
            {"type": "tool_call_item", "raw_item": {"type": "local_shell_call", "call_id": "s"}}
        ),
        "the local shell tool",
    ),
    "apply_patch": (
        _generated(
            {"type": "tool_call_item", "raw_item": {"type": "apply_patch_call", "call_id": "p"}}
        ),
        "the apply_patch tool",
    ),
    "custom tool": (
        _generated(
            {
                "type": "tool_call_item",
                "raw_item": {"type": "custom_tool_call", "call_id": "x", "name": "t"},
            }
        ),
        "custom tools",
    ),
    "mcp list": (
        _generated({"type": "mcp_list_tools_item", "raw_item": {"type": "mcp_list_tools"}}),
        "MCP tools",
    ),
    "mcp origin": (
        _generated(
            {
                "type": "tool_call_item",
                "raw_item": _PY_CALL,
                "tool_origin": {"type": "mcp", "mcp_server_name": "s"},
            }
        ),
        "MCP tools",
    ),
    "agent as tool": (
        _generated(
            {
                "type": "tool_call_item",
                "raw_item": _PY_CALL,
                "tool_origin": {"type": "agent_as_tool"},
            }
        ),
        "agents-as-tools (nested runs)",
    ),
    "nested run state": (
        _set("last_processed_response.functions.0.agent_run_state", {"x": 1}),
        "agents-as-tools (nested runs)",
    ),
    "structured output": (
        _generated(
            {
                "type": "tool_call_output_item",
                "raw_item": {
                    "type": "function_call_output",
                    "call_id": "call_1",
                    "output": [{"type": "input_text", "text": "x"}],
                },
                "output": "x",
            }
        ),
        "structured tool outputs",
    ),
    "namespaced call": (
        _generated({"type": "tool_call_item", "raw_item": _PY_CALL | {"namespace": "crm"}}),
        "namespaced or deferred tools",
    ),
    "programmatic call": (
        _generated(
            {
                "type": "tool_call_item",
                "raw_item": _PY_CALL | {"caller": {"type": "program", "caller_id": "p"}},
            }
        ),
        "programmatic tool calling",
    ),
    "duplicate names": (
        _set("current_agent", {"name": "Mailer", "identity": "Mailer#2"}),
        "duplicate agent names",
    ),
    "developer message": (
        _set("original_input", [{"role": "developer", "content": "x"}]),
        "developer messages",
    ),
    "image input": (
        _set(
            "original_input",
            [{"role": "user", "content": [{"type": "input_image", "image_url": "https://x"}]}],
        ),
        "non-text input content",
    ),
    "accepted response": (
        _set("current_step.data.response_accepted", True),
        "server-accepted response checkpoints",
    ),
    "pending handoff": (
        _set("last_processed_response.handoffs", [{"tool_call": _PY_CALL}]),
        "handoffs pending in an interrupted turn",
    ),
    "shell actions": (_set("last_processed_response.shell_actions", [{"x": 1}]), "the shell tool"),
}


@pytest.mark.parametrize(("mutate", "feature"), PY_UNSUPPORTED.values(), ids=PY_UNSUPPORTED.keys())
def test_encode_refuses_unsupported_features(mutate: Mutation, feature: str) -> None:
    data = _py("basic_interrupted")
    mutate(data)
    with pytest.raises(UnsupportedFeatureError) as caught:
        encode_py_json(data, state_type="interrupted")
    assert caught.value.feature == feature
    assert feature in str(caught.value)


# --- encode: the same refusals from real runs ---------------------------------------------------


@dataclasses.dataclass
class Profile:
    user_id: str


async def _interrupted(context: Any, steps: list[Any]) -> RunState[Any]:
    @function_tool(needs_approval=True)
    def send_email(to: str) -> str:
        """Send an email."""
        return f"sent:{to}"

    agent: Agent[Any] = Agent(name="Mailer", model=ScriptedModel(steps), tools=[send_email])
    result = await Runner.run(agent, "go", context=context)
    assert result.interruptions
    return result.to_state()


async def test_encode_refuses_a_dataclass_context() -> None:
    state = await _interrupted(
        Profile("u1"), [[function_call("send_email", {"to": "a"}, call_id="c1")]]
    )
    with pytest.raises(UnsupportedFeatureError) as caught:
        encode_js(state)
    assert caught.value.feature == "non-mapping contexts"


async def test_encode_refuses_non_json_context_values() -> None:
    state = await _interrupted(
        {"tags": {"a", "b"}}, [[function_call("send_email", {"to": "a"}, call_id="c1")]]
    )
    with pytest.raises(UnsupportedFeatureError) as caught:
        encode_js(state)
    assert caught.value.feature == "non-JSON context values"


async def test_encode_refuses_reasoning_items_from_a_real_run() -> None:
    reasoning = ResponseReasoningItem(
        id="rs_1", type="reasoning", summary=[Summary(type="summary_text", text="thinking")]
    )
    state = await _interrupted(
        None, [[reasoning, function_call("send_email", {"to": "a"}, call_id="c1")]]
    )
    with pytest.raises(UnsupportedFeatureError) as caught:
        encode_js(state)
    assert caught.value.feature == "reasoning items"


async def test_encode_refuses_structured_tool_output_from_a_real_run() -> None:
    @function_tool
    def snapshot() -> ToolOutputImage:
        """Returns an image (a structured, non-text tool output)."""
        return ToolOutputImage(image_url="https://example.com/chart.png")

    @function_tool(needs_approval=True)
    def send_email(ctx: RunContextWrapper[Any], to: str) -> str:
        """Send an email."""
        return f"sent:{to}"

    model = ScriptedModel(
        [
            [function_call("snapshot", {}, call_id="c0")],
            [function_call("send_email", {"to": "a"}, call_id="c1")],
        ]
    )
    agent: Agent[Any] = Agent(name="Mailer", model=model, tools=[snapshot, send_email])
    state = (await Runner.run(agent, "go")).to_state()
    assert state.get_interruptions()
    with pytest.raises(UnsupportedFeatureError) as caught:
        encode_js(state)
    assert caught.value.feature == "structured tool outputs"


# --- decode: input guardrails that would silently not run in Python ------------------------------


async def test_decode_refuses_started_snapshots_without_guardrail_evidence() -> None:
    """JS itself refuses these (run.js); Python would resume them without complaint."""
    data = _js()
    data["initialInputGuardrailsCompleted"] = False
    with pytest.raises(UnsupportedFeatureError) as caught:
        await decode_js(_mailer(), data)
    assert caught.value.feature == "checkpoints whose input guardrails have not run"


async def test_decode_refuses_fresh_snapshots_whose_agent_has_input_guardrails() -> None:
    # Python runs input guardrails only for runs started from input, never on resume.
    triage = make_agents("handoff", Recorder())["Triage"]
    fresh = encode_js(RunState(RunContextWrapper(context=None), "hello", triage))
    assert fresh["initialInputGuardrailsCompleted"] is False
    with pytest.raises(UnsupportedFeatureError) as caught:
        await decode_js(triage, fresh)
    assert caught.value.feature == "checkpoints whose input guardrails have not run"
    # Without input guardrails on the agent, a fresh snapshot decodes.
    await decode_js(
        _mailer(), encode_js(RunState(RunContextWrapper(context=None), "hello", _mailer()))
    )
