"""How runs, timelines and live events look to a person (rich), one function per view.

JSON output does not go through here: commands print the library's own ``to_dict()`` shapes, so
scripts see exactly what the Python API returns.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from timestep.durable import PendingApproval, RunEvent, RunInfo
from timestep.durable._timeline import TimelineStep

__all__ = [
    "approval_hint",
    "event_line",
    "run_detail",
    "runs_table",
    "status_text",
    "timeline_table",
    "usage_text",
]

_STATUS_STYLE = {
    "queued": "cyan",
    "running": "blue",
    "waiting_approval": "yellow",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "magenta",
}
_KIND_STYLE = {
    "model": "cyan",
    "tool": "green",
    "approval": "yellow",
    "decision": "yellow",
    "snapshot": "dim",
}
_CLIP = 100


def status_text(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def usage_text(usage: dict[str, int] | None) -> str:
    if not usage:
        return ""
    total = usage.get("total_tokens", 0)
    requests = usage.get("requests")
    text = f"{total} tok ({usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out)"
    return f"{text}, {requests} req" if requests and requests > 1 else text


def _tokens(usage: dict[str, int] | None) -> str:
    return f"{usage.get('input_tokens', 0)}/{usage.get('output_tokens', 0)}" if usage else ""


def _ago(ts: float | None) -> str:
    if ts is None:
        return ""
    seconds = max(0.0, time.time() - ts)
    if seconds < 60:
        return f"{seconds:.0f}s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 86400:
        return f"{seconds / 3600:.0f}h ago"
    return f"{seconds / 86400:.0f}d ago"


def _duration(ms: float | None) -> str:
    if ms is None:
        return "…"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def _clip(text: str, limit: int = _CLIP) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _output_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def runs_table(infos: Iterable[RunInfo]) -> Table:
    rows = list(infos)
    table = Table(box=None, header_style="bold", pad_edge=False)
    columns: list[tuple[str, Callable[[RunInfo], str | Text]]] = [
        ("RUN", lambda i: i.run_id),
        ("STATUS", lambda i: status_text(i.status)),
        ("AGENT", lambda i: i.agent or ""),
        ("SESSION", lambda i: i.session_id or ""),
        ("PENDING", lambda i: ", ".join(p.tool_name for p in i.pending)),
        ("TOKENS", lambda i: str(i.usage.get("total_tokens", "")) if i.usage else ""),
        ("STARTED", lambda i: _ago(i.created_at)),
        ("UPDATED", lambda i: _ago(i.updated_at)),
    ]
    # Columns empty for every row (no sessions, nothing pending) only cost width.
    columns = [(name, cell) for name, cell in columns if any(str(cell(i)) for i in rows)]
    for name, _ in columns:
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    for info in rows:
        table.add_row(*(cell(info) for _, cell in columns))
    return table


def approval_hint(run_id: str, pending: list[PendingApproval], db_flag: str) -> RenderableType:
    """The pending calls with their arguments and the exact commands that decide them."""
    lines: list[RenderableType] = []
    for p in pending:
        lines.append(
            Text.assemble(
                ("  ⏸ ", "yellow"),
                (p.tool_name, "bold"),
                f"({p.arguments})",
                (f"  call {p.call_id}", "dim"),
            )
        )
        lines.append(
            Text(f"      approve: timestep {db_flag}approve {run_id} {p.call_id}", style="bold")
        )
        lines.append(
            Text(
                f'      reject:  timestep {db_flag}reject {run_id} {p.call_id} --message "..."',
                style="dim",
            )
        )
    return Group(*lines)


def timeline_table(info: RunInfo, steps: list[TimelineStep], *, all_steps: bool = False) -> Table:
    """Every turn and tool step (and, with ``all_steps``, the bookkeeping too)."""
    origin = info.created_at or next((s.started_at for s in steps if s.started_at), None)
    # expand + ratio: the fixed columns keep their width and DETAIL gets the rest of the line.
    table = Table(box=None, header_style="bold", pad_edge=False, expand=True)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("AT", justify="right", style="dim", no_wrap=True)
    table.add_column("STEP", no_wrap=True)
    table.add_column("TOOK", justify="right", no_wrap=True)
    table.add_column("TOKENS in/out", justify="right", no_wrap=True)
    # One line per step: the detail is cut to the terminal's width (--json has it whole).
    table.add_column("DETAIL", no_wrap=True, overflow="ellipsis", ratio=1)
    turn = 0
    for step in steps:
        if not all_steps and not step.primary:
            continue
        if step.kind == "model":
            turn += 1
            label = f"turn {turn}"
        elif step.kind == "tool":
            label = f"tool {step.tool}"
        elif step.kind == "decision":
            label = "approval wait"
        else:
            label = step.kind if step.primary else step.name
        at = (
            "" if step.started_at is None or origin is None else f"+{step.started_at - origin:.2f}s"
        )
        detail = Text(_clip(step.summary))
        if step.error:
            detail = Text(_clip(step.error), style="red")
        table.add_row(
            str(step.seq),
            at,
            Text(label, style=_KIND_STYLE.get(step.kind, "dim")),
            _duration(step.duration_ms),
            _tokens(step.usage),
            detail,
        )
    return table


def run_detail(
    info: RunInfo, steps: list[TimelineStep], db_flag: str, *, all_steps: bool = False
) -> Group:
    """``timestep show``: header, timeline, pending approvals, final output or error."""
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("run", info.run_id)
    header.add_row("status", status_text(info.status))
    header.add_row("agent", info.agent or "")
    if info.session_id:
        header.add_row("session", info.session_id)
    turns = sum(1 for s in steps if s.kind == "model")
    tools = sum(1 for s in steps if s.kind == "tool")
    header.add_row("steps", f"{turns} model turn(s), {tools} tool call(s)")
    if info.usage:
        header.add_row("usage", usage_text(info.usage))
    # DBOS does not always touch updated_at when a run ends; its last step says when it did.
    last = max([info.updated_at or 0.0, *(s.completed_at for s in steps if s.completed_at)])
    if info.created_at and last:
        header.add_row(
            "elapsed",
            f"{_duration((last - info.created_at) * 1000)} (started {_ago(info.created_at)})",
        )
    parts: list[RenderableType] = [
        header,
        Text(""),
        Text("Timeline", style="bold underline"),
        timeline_table(info, steps, all_steps=all_steps),
    ]
    if info.pending:
        parts += [
            Text(""),
            Text("Waiting for approval", style="bold yellow"),
            approval_hint(info.run_id, info.pending, db_flag),
        ]
    if info.status == "succeeded":
        parts += [Text(""), Text.assemble(("Output: ", "bold green"), _output_text(info.output))]
    elif info.error:
        parts += [Text(""), Text.assemble(("Error: ", "bold red"), info.error)]
    return Group(*parts)


def event_line(event: RunEvent, *, verbose: bool = False) -> Text | None:
    """One line per live event of ``stream_run`` (None for events not worth a line)."""
    data = event.data
    if event.type == "model_response":
        items: list[dict[str, Any]] = data.get("items") or []
        calls = [
            f"{i.get('name')}({i.get('arguments', '')})"
            for i in items
            if i.get("type") == "function_call"
        ]
        texts = [
            str(part.get("text", ""))
            for i in items
            if i.get("type") == "message"
            for part in i.get("content") or []
            if isinstance(part, dict)
        ]
        what = ("calls " + ", ".join(calls)) if calls else ("says: " + " ".join(texts))
        usage = usage_text(data.get("usage"))
        return Text.assemble(
            ("  ● model ", "cyan"),
            what if verbose else _clip(what),
            (f"  [{usage}]" if usage else "", "dim"),
        )
    if event.type == "tool_output":
        output = _output_text(data.get("output"))
        return Text.assemble(
            ("  ● tool  ", "green"),
            (str(data.get("tool")), "bold"),
            " → ",
            output if verbose else _clip(output),
        )
    if event.type == "approval_required":
        names = ", ".join(str(p.get("tool_name")) for p in data.get("pending") or [])
        return Text.assemble(("  ⏸ parked", "yellow bold"), f": waiting for approval of {names}")
    if event.type == "decision":
        verb = "approved" if data.get("decision") == "approve" else "rejected"
        target = data.get("call_id") or "all pending calls"
        by = f" by {data['decided_by']}" if data.get("decided_by") else ""
        return Text.assemble(
            ("  ✔ " if verb == "approved" else "  ✘ ", "yellow"), f"{verb} {target}{by}"
        )
    if event.type == "step_failed":
        return Text.assemble(
            ("  ✘ step failed ", "red"), f"{data.get('step')}: {data.get('error')}"
        )
    if event.type == "run_completed":
        return Text.assemble(
            ("  ✓ completed", "green bold"), (f"  [{usage_text(data.get('usage'))}]", "dim")
        )
    if event.type == "run_failed":
        return Text.assemble(("  ✘ failed: ", "red bold"), str(data.get("error")))
    if event.type == "run_cancelled":
        return Text("  ✘ cancelled", style="magenta bold")
    return None
