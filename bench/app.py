"""What every benchmark process registers before DBOS launches (DBOS requires it at import).

* timestep: the agent ``Bench`` (tools ``work`` and ``charge``, the latter needing approval),
  answered by the zero-latency :class:`~bench.fake_model.LoopModel`.
* raw DBOS: workflows of N trivial async steps, and one parked on ``recv_async``.
* dbos-openai-agents (if installed): a workflow running the same agent through ``DBOSRunner``.

``timestep worker bench.app`` serves the agent; a raw worker serves ``raw_steps``.
"""

from __future__ import annotations

from typing import Any

from agents import Agent, RunConfig, Runner, function_tool
from dbos import DBOS

import timestep
from bench.fake_model import LoopModel, LoopModelProvider

AGENT_NAME = "Bench"
RAW_QUEUE = "raw"
DECISION_TOPIC = "decision"
#: Long loops exceed the SDK's default of 10 turns.
MAX_TURNS = 1000


@function_tool
async def work(n: int) -> str:
    """A tool that does nothing (zero latency)."""
    return f"ok {n}"


@function_tool(needs_approval=True)
async def charge(n: int) -> str:
    """A tool that needs a human's approval."""
    return f"charged {n}"


bench_agent: Agent[Any] = Agent(name=AGENT_NAME, instructions="Benchmark.", tools=[work, charge])
timestep.register_agent(bench_agent, model_provider=LoopModelProvider())


async def plain_run(text: str) -> str:
    """The same agent through plain ``Runner.run`` (no durability)."""
    config = RunConfig(model_provider=LoopModelProvider(), tracing_disabled=True)
    result = await Runner.run(bench_agent, text, run_config=config, max_turns=MAX_TURNS)
    return str(result.final_output)


# --- raw DBOS --------------------------------------------------------------------------------


@DBOS.step(name="raw.step")
async def raw_step(i: int) -> int:
    return i + 1


@DBOS.workflow(name="bench.raw_steps")
async def raw_steps(n: int) -> int:
    """N trivial async steps: the raw cost of a durable checkpoint."""
    total = 0
    for i in range(n):
        total += await raw_step(i)
    return total


@DBOS.step(name="raw.model_step")
async def raw_model_step(i: int) -> Any:
    """A step whose recorded output is a model response, as a model call's checkpoint is."""
    items: list[Any] = [{"role": "user", "content": f"loop {i + 1} work"}]
    return await LoopModel().get_response(None, items, None, [], None, [], None)


@DBOS.workflow(name="bench.raw_payload_steps")
async def raw_payload_steps(n: int) -> int:
    """N steps alternating model-response and short-string outputs (the shape of an agent run)."""
    for i in range(n):
        if i % 2:
            await raw_step(i)
        else:
            await raw_model_step(i)
    return n


@DBOS.workflow(name="bench.raw_park")
async def raw_park(label: str) -> str:
    """One step (the model call), park on recv_async, then two steps (tool and model)."""
    await raw_step(0)
    decision = await DBOS.recv_async(DECISION_TOPIC, timeout_seconds=24 * 3600)
    await raw_step(1)
    await raw_step(2)
    return f"{label}: {decision}"


# --- dbos-openai-agents ---------------------------------------------------------------------

try:
    from dbos_openai_agents import DBOSRunner
except ImportError:  # optional: the overhead benchmark says so and uses the published figure
    DBOSRunner = None

HAVE_DBOS_RUNNER = DBOSRunner is not None

if DBOSRunner is not None:

    @DBOS.step(name="bench.dbos_work")
    async def dbos_work_step(n: int) -> str:
        return f"ok {n}"

    @function_tool(name_override="work")
    async def dbos_work(n: int) -> str:
        """A tool whose body is a DBOS step (how dbos-openai-agents makes tools durable)."""
        return await dbos_work_step(n)

    dbos_agent: Agent[Any] = Agent(
        name="BenchDBOSRunner", instructions="Benchmark.", tools=[dbos_work], model=LoopModel()
    )

    @DBOS.workflow(name="bench.dbos_runner")
    async def dbos_runner_run(text: str) -> str:
        assert DBOSRunner is not None
        result = await DBOSRunner.run(
            dbos_agent, text, run_config=RunConfig(tracing_disabled=True), max_turns=MAX_TURNS
        )
        return str(result.final_output)
