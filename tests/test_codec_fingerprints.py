"""The codec's fingerprint ports against the real SDKs, byte for byte.

Python: our ``py_fingerprint`` vs the SDK's own (private) ``tool_invocation_identity_and_scope``.
JS: our ``js_fingerprint`` vs ``getToolInvocationFingerprint`` run in Node (tests/node/fingerprints.mjs).
The corpus stresses what differs between V8 and Python's json: number spelling, key order
(UTF-16 order, integer-like keys first), escapes, non-ASCII and surrogates, invalid JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
from agents._tool_invocation import tool_invocation_identity_and_scope
from crosslang.node import run_node

from timestep.state.codec._fingerprints import (
    js_fingerprint,
    js_function_state_key,
    js_handoff_tool_name,
    py_fingerprint,
)
from timestep.state.codec._jsjson import canonicalize_json_number, js_quote

CORPUS: list[str] = [
    '{"to":"bob@example.com","subject":"Hi"}',
    '{"subject":"Hi","to":"bob@example.com"}',
    "{}",
    "[]",
    '{"n":1,"f":1.5,"g":1.50,"h":100.0,"e":1E3,"e2":1e-7,"e3":-2.5E+2,"z":-0.0,"zero":0}',
    '{"big":123456789012345678901234567890,"neg":-9007199254740993,"tiny":1e-400,"huge":1e400}',
    '{"b":1,"10":2,"9":3,"a\u00e9":4,"\U0001f600":5,"\uff01":6,"":7,"01":8,"4294967294":9,"4294967295":10}',
    '{"nested":{"z":[1,{"y":null,"x":true}],"a":false},"list":[3,2,1]}',
    '{"s":"line\\nbreak\\ttab\\u0001ctrl\\u007fdel\\u2028sep\\u2029"}',
    '{"s":"Gr\u00fc\u00dfe \u2713 \U0001f600 zo\u00eb","escaped":"\\u00e9\\ud83d\\ude00"}',
    '{"s":"\\u0000openai-agents-json:number:1e0","t":"\\u0000openai-agents-json:string:x"}',
    '{"dup":1,"dup":2}',
    '{"__proto__":{"polluted":1},"constructor":2}',
    '  { "spaced" : [ 1 , 2 ] , "x" : "y" }  ',
    '"just a string"',
    "42",
    "true",
    "null",
    "not json",
    "",
    '{"a":01}',
    '{"a":1.}',
    '{"a":+1}',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":"unterminated',
    '{"a":"bad \\x escape"}',
    '{"a":tru}',
    '{"a":1}trailing',
    "\ufeff{}",
]
# Lone surrogates: JS keeps them; Python's SDK cannot encode them as UTF-8 (checked separately).
JS_ONLY: list[str] = ['{"lone":"\\ud800x"}', '{"\\udc00":1}']


@pytest.fixture(scope="module")
def node_fingerprints() -> dict[tuple[str, str], str]:
    names = [
        js_function_state_key("send_email"),
        js_handoff_tool_name("transfer_to_mailer"),
        '["bare","\u00fcml\u00e4ut"]',
    ]
    cases = [[name, args] for name in names for args in CORPUS + JS_ONLY]
    results = run_node("fingerprints.mjs", cases)
    return {(name, args): fp for (name, args), fp in zip(cases, results, strict=True)}


def test_js_fingerprints_match_node(node_fingerprints: dict[tuple[str, str], str]) -> None:
    mismatches = [
        (name, args, expected, js_fingerprint(name, args))
        for (name, args), expected in node_fingerprints.items()
        if js_fingerprint(name, args) != expected
    ]
    assert not mismatches, "\n".join(f"{a!r}:\n  node {e}\n  ours {o}" for _, a, e, o in mismatches)


@pytest.mark.parametrize("arguments", CORPUS)
@pytest.mark.parametrize("handoff", [False, True])
def test_py_fingerprints_match_sdk(arguments: str, handoff: bool) -> None:
    raw: dict[str, Any] = {
        "type": "function_call",
        "call_id": "call_1",
        "name": "send_email",
        "arguments": arguments,
    }
    sdk = tool_invocation_identity_and_scope(raw, invocation_role="handoff" if handoff else None)
    assert sdk is not None
    _, _, sdk_scope, sdk_fingerprint = sdk
    assert py_fingerprint("send_email", arguments, handoff=handoff) == (sdk_scope, sdk_fingerprint)


def test_py_fingerprint_non_ascii_tool_name() -> None:
    raw = {
        "type": "function_call",
        "call_id": "c",
        "name": "\u00fcml\u00e4ut_\U0001f600",
        "arguments": '{"\u00e9":1}',
    }
    sdk = tool_invocation_identity_and_scope(raw)
    assert sdk is not None
    assert py_fingerprint(raw["name"], raw["arguments"]) == (sdk[2], sdk[3])


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("0", "0"),
        ("-0", "-0"),
        ("-0.000", "-0"),
        ("1", "1e0"),
        ("1.50", "15e-1"),
        ("100", "1e2"),
        ("100.0", "1e2"),
        ("1E3", "1e3"),
        ("-2.5E+2", "-25e1"),
        ("0.001", "1e-3"),
        ("123456789012345678901234567890", "12345678901234567890123456789e1"),
    ],
)
def test_canonical_numbers(token: str, expected: str) -> None:
    assert canonicalize_json_number(token) == expected


def test_js_quote_escapes_like_json_stringify() -> None:
    assert (
        js_quote('a"b\\c\n\u0001\u007f\u2028\u00e9\U0001f600')
        == '"a\\"b\\\\c\\n\\u0001\u007f\u2028\u00e9\U0001f600"'
    )
    assert js_quote("\ud800") == '"\\ud800"'
    # A surrogate pair that arrived as two code points is one character in JS.
    assert js_quote("\ud83d\ude00") == '"\U0001f600"'
