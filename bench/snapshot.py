"""2. Snapshot ``save`` + ``load`` (``RunStateStore``, JS-form encoding included) by run length.

States of 1, 10, 50 and 200 turns come from real runs of the fake model (``n-1`` turns calling
``work``, then one calling ``charge``, which needs approval: an interrupted state, the kind the
durable layer saves when it parks). Each size is saved and loaded ``reps`` times through one
store; the figure is the median of save + load. Growth should be linear in the number of turns:
the linearity ratio compares the per-turn cost between 50 and 200 turns with the one between 1
and 50 (1.0 = perfectly linear, ~5 = quadratic).
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench._common import Databases, Figure, Report, median, run_child

NAME = "snapshot"
SIZES = (1, 10, 50, 200)


async def measure(db_url: str, sizes: list[int], reps: int) -> dict[str, Any]:
    """Child process: build the states, then time encode, save, load (and the JS decode path)."""
    from agents import RunConfig, Runner, RunState

    from bench import app
    from bench.fake_model import LoopModelProvider
    from timestep.state import RunStateStore, codec
    from timestep.state._snapshot import encode_state

    out: dict[str, Any] = {}
    for n in sizes:
        result = await Runner.run(
            app.bench_agent, f"loop {n - 1} work then charge",
            run_config=RunConfig(model_provider=LoopModelProvider(), tracing_disabled=True),
            max_turns=app.MAX_TURNS,
        )
        assert result.interruptions, "the fake run should stop on the charge approval"
        state = result.to_state()
        store = RunStateStore(app.bench_agent, session_id=f"bench-{n}", connection_string=db_url)
        await store.save(state)  # connect + migrate outside the timings
        await store.load()
        encode, save, load, both, decode, sdk = [], [], [], [], [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            encoded = encode_state(state)
            t1 = time.perf_counter()
            await store.save(state)
            t2 = time.perf_counter()
            await store.load()
            t3 = time.perf_counter()
            await codec.decode_js(app.bench_agent, encoded.state_data)
            t4 = time.perf_counter()
            await RunState.from_json(app.bench_agent, state.to_json())
            t5 = time.perf_counter()
            encode.append(t1 - t0)
            save.append(t2 - t1)
            load.append(t3 - t2)
            both.append(t3 - t1)
            decode.append(t4 - t3)
            sdk.append(t5 - t4)
        await store.close()
        out[str(n)] = {
            "encode_ms": median(encode) * 1000,
            "save_ms": median(save) * 1000,
            "load_ms": median(load) * 1000,
            "save_load_ms": median(both) * 1000,
            "decode_js_ms": median(decode) * 1000,
            "sdk_ms": median(sdk) * 1000,
            "js_bytes": len(json.dumps(encoded.state_data)),
            "native_bytes": len(json.dumps(encoded.native_data)),
        }
    return out


def linearity(ms: dict[int, float]) -> tuple[float, float]:
    """(least-squares slope in ms/turn, per-turn cost 50->200 over per-turn cost 1->50)."""
    xs = sorted(ms)
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ms[x] for x in xs) / len(xs)
    slope = sum((x - mean_x) * (ms[x] - mean_y) for x in xs) / sum((x - mean_x) ** 2 for x in xs)
    low = (ms[50] - ms[1]) / 49
    high = (ms[200] - ms[50]) / 150
    return slope, high / low if low > 0 else float("inf")


def run(report: Report, dbs: Databases, backends: list[str], quick: bool) -> None:
    reps = 5 if quick else 10
    for backend in backends:
        r = run_child("snapshot", "measure", db_url=dbs.new(backend), sizes=list(SIZES), reps=reps)
        for n in SIZES:
            f = r[str(n)]
            target = ("<=", 10.0) if n == 50 else None
            report.add(Figure(NAME, backend, f"save + load, {n} turns", f["save_load_ms"], "ms", target,
                              note=f"encode {f['encode_ms']:.1f}, save {f['save_ms']:.1f}, load "
                                   f"{f['load_ms']:.1f}, JS decode {f['decode_js_ms']:.1f} ms; "
                                   f"JS form {f['js_bytes'] // 1024} KiB"))
        sdk50 = r["50"]["sdk_ms"]
        report.add(Figure(NAME, backend, "of which the SDK's RunState.to_json + from_json, 50 turns", sdk50, "ms",
                          note=f"timestep's own share {r['50']['save_load_ms'] - sdk50:.1f} ms"))
        slope, ratio = linearity({n: r[str(n)]["save_load_ms"] for n in SIZES})
        report.add(Figure(NAME, backend, "fitted slope", slope, "ms/turn"))
        report.add(Figure(NAME, backend, "linearity (per-turn cost 50→200 / 1→50)", ratio, "x", ("<=", 1.5)))
        _, sdk_ratio = linearity({n: r[str(n)]["sdk_ms"] for n in SIZES})
        report.add(Figure(NAME, backend, "linearity of the SDK's to_json + from_json alone", sdk_ratio, "x"))
