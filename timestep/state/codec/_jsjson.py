"""JavaScript's ``JSON.parse`` / ``JSON.stringify`` semantics, reproduced byte for byte.

The JS SDK's invocation fingerprint *is* a JSON string built with its own ``stableStringify``
(``@openai/agents-core`` 0.20.0 ``dist/toolInvocation.js``), and every serialized per-call
decision is bound to that exact string. Python's ``json`` module differs from V8 in three ways
that matter here, so this module re-implements them:

* key order — ``stableStringify`` sorts keys by UTF-16 code units, then ``Object.fromEntries``
  moves array-index keys (``"0"``, ``"17"``) first in numeric order (ECMAScript
  OrdinaryOwnPropertyKeys);
* string escaping — ``JSON.stringify`` escapes control characters and lone surrogates as
  lowercase ``\\uXXXX`` and nothing else (non-ASCII stays literal);
* numbers — the fingerprint never contains JSON numbers: ``encodeJsonNumbers`` replaces every
  number token with a canonical ``mantissa e exponent`` string before parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any

__all__ = [
    "JSON_TOKEN_PREFIX",
    "canonicalize_json_number",
    "encode_json_numbers",
    "js_json_parse",
    "js_quote",
    "js_stable_stringify",
]

JSON_TOKEN_PREFIX = "\u0000openai-agents-json:"

# JS regex `\d` is ASCII-only; Python's is Unicode-aware, hence the explicit classes.
_NUMBER_TOKEN = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_MAX_ARRAY_INDEX = 2**32 - 2

_SHORT_ESCAPES = {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


def js_quote(text: str) -> str:
    """``JSON.stringify(text)`` for a string (ECMAScript QuoteJSONString)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # surrogate code points: re-pair and escape them like JS
        return _js_quote_surrogates(text)
    # Without surrogates Python's C encoder escapes exactly what JS does (`"`, `\\`, the
    # short forms \b \t \n \f \r, other controls as lowercase \u00xx) and nothing else;
    # the per-character loop below was most of a 50-turn snapshot's fingerprint time.
    return encode_basestring(text)


def _js_quote_surrogates(text: str) -> str:
    # Re-pair surrogate halves that arrived as two code points: in JS they are one character.
    text = text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "surrogatepass")
    out = ['"']
    for char in text:
        code = ord(char)
        short = _SHORT_ESCAPES.get(char)
        if short is not None:
            out.append(short)
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:
            # Python strings hold lone surrogates as single code points; well-formed
            # JSON.stringify escapes exactly those (paired ones are one astral code point here).
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _is_array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and str(int(key)) == key and int(key) <= _MAX_ARRAY_INDEX


def _utf16_sort_key(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly like JS `<` on strings (code-unit order).
    return key.encode("utf-16-be", "surrogatepass")


def _js_key_order(keys: Sequence[str]) -> list[str]:
    """Own-property order of ``Object.fromEntries(entries sorted by code units)``."""
    ordered = sorted(keys, key=_utf16_sort_key)
    indexes = sorted((k for k in ordered if _is_array_index(k)), key=int)
    return indexes + [k for k in ordered if not _is_array_index(k)]


def js_stable_stringify(value: Any) -> str:
    """The JS SDK's ``stableStringify``: ``JSON.stringify`` with every object's keys sorted.

    Only JSON data (str, bool, None, safe int, list, Mapping) is accepted: fingerprint payloads
    never contain other numbers (see module docstring), and V8's float formatting is not ours.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return js_quote(value)
    if isinstance(value, int) and abs(value) <= 2**53:
        return str(value)
    if isinstance(value, Mapping):
        parts = [
            f"{js_quote(key)}:{js_stable_stringify(value[key])}"
            for key in _js_key_order(list(value))
        ]
        return "{" + ",".join(parts) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(js_stable_stringify(item) for item in value) + "]"
    raise TypeError(f"not JSON data: {type(value).__name__}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"JSON.parse rejects {name}")


def js_json_parse(text: str) -> Any:
    """``JSON.parse``: like ``json.loads`` but without NaN/Infinity (which V8 rejects)."""
    return json.loads(text, parse_constant=_reject_constant)


def canonicalize_json_number(token: str) -> str:
    """Port of ``canonicalizeJsonNumber``: ``1.50`` -> ``15e-1``, ``-0.0`` -> ``-0``."""
    lower = token.lower()
    mantissa, _, exponent_text = lower.partition("e")
    negative = mantissa.startswith("-")
    unsigned = mantissa[1:] if negative else mantissa
    integer, _, fraction = unsigned.partition(".")
    digits = (integer + fraction).lstrip("0")
    if not digits:
        return "-0" if negative else "0"
    exponent = int(exponent_text or "0") - len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return f"{'-' if negative else ''}{stripped}e{exponent}"


def encode_json_numbers(text: str) -> str:
    """Port of ``encodeJsonNumbers``: replace number tokens with tagged canonical strings.

    Raises ``ValueError`` wherever the JS version throws (the caller then falls back to the
    ``raw`` payload format, as the SDK does).
    """
    encoded: list[str] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == '"':
            end = index + 1
            while end < length:
                if text[end] == "\\":
                    end += 2
                    continue
                if text[end] == '"':
                    end += 1
                    break
                end += 1
            token = text[index:end]
            decoded = js_json_parse(token)
            if not isinstance(decoded, str):
                raise ValueError("not a string token")
            encoded.append(
                js_quote(f"{JSON_TOKEN_PREFIX}string:{decoded}")
                if decoded.startswith(JSON_TOKEN_PREFIX)
                else token
            )
            index = end
            continue
        if char == "-" or "0" <= char <= "9":
            match = _NUMBER_TOKEN.match(text, index)
            if match is None:
                raise ValueError("Invalid JSON number.")
            encoded.append(
                js_quote(f"{JSON_TOKEN_PREFIX}number:{canonicalize_json_number(match.group())}")
            )
            index = match.end()
            continue
        encoded.append(char)
        index += 1
    return "".join(encoded)
