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


def test_fake_ollama_non_stream_is_one_object(fake_ollama: FakeOllama) -> None:
    fake_ollama.script([Reply(text="Hi", thinking="hmm", input_tokens=3, output_tokens=2)])
    body = {"model": "m", "messages": [], "stream": False}
    response = httpx.post(f"{fake_ollama.url}/api/chat", json=body)
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert data["message"] == {"role": "assistant", "content": "Hi", "thinking": "hmm"}
    assert data["done"] is True and data["eval_count"] == 2
    assert isinstance(data["total_duration"], int)


def test_fake_ollama_errors_and_records(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(
        [ErrorReply(429, "slow down"), ErrorReply(502, "bad gateway for {model}", mid_stream=True)]
    )
    first = httpx.post(f"{fake_ollama.url}/api/chat", json={"model": "m", "stream": False})
    assert (first.status_code, first.json()) == (429, {"error": "slow down"})
    second = httpx.post(f"{fake_ollama.url}/api/chat", json={"model": "m"})
    assert second.status_code == 200
    assert second.text.splitlines()[-1] == '{"error": "bad gateway for m"}'
    exhausted = httpx.post(f"{fake_ollama.url}/api/chat", json={"model": "m"})
    assert exhausted.status_code == 500 and "no scripted reply" in exhausted.json()["error"]
    missing_model = httpx.post(f"{fake_ollama.url}/api/chat", json={"messages": []})
    assert missing_model.status_code == 400
    assert fake_ollama.chat_count == 4 and fake_ollama.remaining == 0


def test_fake_ollama_responder_and_reset(fake_ollama: FakeOllama) -> None:
    fake_ollama.respond_with(lambda body: Reply(text=f"echo {body['messages'][-1]['content']}"))
    body = {"model": "m", "messages": [{"role": "user", "content": "ping"}], "stream": False}
    assert httpx.post(f"{fake_ollama.url}/api/chat", json=body).json()["message"]["content"] == (
        "echo ping"
    )
    fake_ollama.reset()
    assert fake_ollama.requests == []
    assert httpx.post(f"{fake_ollama.url}/api/chat", json=body).status_code == 500


def test_fake_ollama_cloud_requires_bearer(fake_ollama_cloud: FakeOllama) -> None:
    url = f"{fake_ollama_cloud.url}/api/version"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = httpx.get(url, headers={"Authorization": f"Bearer {CLOUD_API_KEY}"})
    assert ok.status_code == 200 and "version" in ok.json()


def test_fake_ollama_tags_and_unknown_models() -> None:
    with FakeOllama.start(models=["llama3.2:latest"]) as server:
        tags = httpx.get(f"{server.url}/api/tags").json()
        assert [m["name"] for m in tags["models"]] == ["llama3.2:latest"]
        missing = httpx.post(f"{server.url}/api/chat", json={"model": "qwen3"})
        assert (missing.status_code, missing.json()) == (404, {"error": "model 'qwen3' not found"})


def _sse_data(text: str) -> list[str]:
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]


def test_fake_openai_chat_stream_splits_tool_calls(fake_openai: FakeOpenAI) -> None:
    fake_openai.script([Reply(tool_calls=(ToolCall("f", {"city": "Oakland"}), ToolCall("g", {})))])
    headers = {"Authorization": f"Bearer {fake_openai.api_key}"}
    body = {
        "model": "gpt",
        "messages": [],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = httpx.post(f"{fake_openai.base_url}/chat/completions", json=body, headers=headers)
    data = _sse_data(response.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert [c.get("id", "").startswith("call_") for c in calls].count(True) == 2
    arguments = "".join(c["function"]["arguments"] for c in calls if c["index"] == 0)
    assert json.loads(arguments) == {"city": "Oakland"}
    assert len([c for c in calls if c["index"] == 0]) >= 3  # name, then argument pieces
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finish[-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 18


def test_fake_openai_responses_stream_and_auth(fake_openai: FakeOpenAI) -> None:
    fake_openai.script([Reply(text="Hello you", tool_calls=(ToolCall("f", {"a": 1}),))])
    denied = httpx.post(f"{fake_openai.base_url}/responses", json={"model": "gpt"})
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"
    headers = {"Authorization": f"Bearer {fake_openai.api_key}"}
    response = httpx.post(
        f"{fake_openai.base_url}/responses",
        json={"model": "gpt", "input": "hi", "stream": True},
        headers=headers,
    )
    events = [json.loads(item) for item in _sse_data(response.text)]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created"
    assert events[-1]["type"] == "response.completed"
    final = events[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["message", "function_call"]
    assert final["usage"]["input_tokens"] == 11
    assert fake_openai.model_count == 2  # the denied request is recorded too
