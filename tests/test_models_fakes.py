"""The fake servers themselves: wire formats the adapters and other tests rely on."""

from __future__ import annotations

import json

import httpx

from tests.fakes import CLOUD_API_KEY, ErrorReply, FakeOllama, FakeOpenAI, Reply, ToolCall


def test_fake_ollama_streams_ndjson_by_default(fake_ollama: FakeOllama) -> None:
    fake_ollama.script([Reply(text="Hello there", tool_calls=(ToolCall("f", {"x": 1}),))])
    response = httpx.post(f"{fake_ollama.url}/api/chat", json={"model": "m", "messages": []})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.text.endswith("\n")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert "".join(line["message"]["content"] for line in lines) == "Hello there"
    tool_chunks = [line for line in lines if line["message"].get("tool_calls")]
    assert len(tool_chunks) == 1
    call = tool_chunks[0]["message"]["tool_calls"][0]
    assert call["id"].startswith("call_") and len(call["id"]) == len("call_") + 8
    assert call["function"] == {"index": 0, "name": "f", "arguments": {"x": 1}}
    final = lines[-1]
    assert final["done"] is True and final["done_reason"] == "stop"
    assert final["prompt_eval_count"] == 11 and final["eval_count"] == 7
    assert all(not line["done"] for line in lines[:-1])
    assert fake_ollama.chat_count == 1
