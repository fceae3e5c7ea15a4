"""What a request to the playground's API may carry: a JSON object, each field checked once.

``parse_body(raw)`` reads a body as JSON and refuses what Python's ``json`` would
otherwise let through: the constants ``NaN``, ``Infinity`` and ``-Infinity``,
integers of more than a few digits (a long digit string costs time to convert),
nesting deeper than any request of the page (``json.loads`` would recurse until it
fails), and anything that is not an object. The ``field`` helpers read one field
of such an object and raise ``ValueError`` naming it, what was expected and what
came, so every bad body is answered 400 in the user's words, never a traceback.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 16
"""The deepest nesting of arrays and objects accepted; the page's deepest is 2."""
MAX_INT_DIGITS = 20
MAX_WEIGHT = 1e6
"""The largest |W_ij| or |b_i| an edit may set: beyond it every sigmoid and tanh saturates."""


def _constant(name: str) -> Any:
    raise ValueError(f"the request must hold finite numbers only, got {name}")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(
            f"the request holds a whole number of {len(text)} digits; "
            f"at most {MAX_INT_DIGITS} are accepted"
        )
    return int(text)


def _depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings (before ``json.loads`` recurses)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object ({} when empty), or a ValueError saying what is wrong."""
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the request body must be JSON in UTF-8") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        raise ValueError(f"the request body is nested more than {MAX_DEPTH} levels deep")
    try:
        body = json.loads(text, parse_constant=_constant, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError(f"the request body must be a JSON object, got {_kind(body)}")
    return body


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def shown(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters (an error never echoes a whole body)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def obj(body: dict[str, Any], name: str) -> dict[str, Any]:
    """Field ``name`` as a JSON object ({} when absent)."""
    value = body.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object, got {_kind(value)} {shown(value)}")
    return value


def text(body: dict[str, Any], name: str, default: str = "", limit: int = 200) -> str:
    """Field ``name`` as a string of at most ``limit`` characters."""
    value = body.get(name, default)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {_kind(value)} {shown(value)}")
    if len(value) > limit:
        raise ValueError(f"{name} must be at most {limit} characters, got {len(value)}")
    return value


def flag(body: dict[str, Any], name: str) -> bool:
    """Field ``name`` as true or false (false when absent)."""
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {_kind(value)} {shown(value)}")
    return value


def count(body: dict[str, Any], name: str, low: int, high: int) -> int:
    """Field ``name`` as a whole number in [low, high] (``low`` when absent)."""
    value = body.get(name, low)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(
            f"{name} must be a whole number between {low} and {high}, got {shown(value)}"
        )
    return value


def weight(body: dict[str, Any], name: str) -> float:
    """Field ``name`` as a finite number with |v| ≤ :data:`MAX_WEIGHT`."""
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {_kind(value)} {shown(value)}")
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_WEIGHT:
        raise ValueError(
            f"{name} must be a finite number between {-MAX_WEIGHT:g} and {MAX_WEIGHT:g}, "
            f"got {shown(value)}"
        )
    return number


def example_index(text_value: str | None) -> int:
    """The ``example`` query parameter as a whole number (1 when absent); its range is the run's."""
    if text_value is None:
        return 1
    stripped = text_value.strip()
    if not stripped.isdigit() or len(stripped) > MAX_INT_DIGITS:
        raise ValueError(f"example must be a whole number, got {shown(text_value)}")
    return int(stripped)
