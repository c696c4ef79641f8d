"""JSON from files and commands, parsed with a nesting limit.

Python's json module recurses once per nesting level: a file of ten thousand ``[`` raises
RecursionError (a crash, not a message). The depth is checked first, on the text with its
string literals removed, so brackets inside strings do not count.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JSONInputError(ValueError):
    """Unusable JSON; ``str(error)`` says why (and where, for a syntax error)."""


def json_depth(text: str) -> int:
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def json_loads_limited(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    if json_depth(text) > max_depth:
        raise JSONInputError(f"The JSON is nested more than {max_depth} levels deep.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"The JSON is not valid: {exc.msg} (line {exc.lineno}).") from exc
