"""Strict JSON decoding for everything that arrives from outside: files and API bodies.

Python's decoder accepts what LaunchDarkly never sends: NaN and Infinity, numbers beyond
a float, and repeated keys (silently keeping the last). Each is a sign of a corrupt or
hand-made document, so each is refused with a message saying what and where.
"""

from __future__ import annotations

import json
import math
from typing import Any


class JSONRejected(ValueError):
    """Content that is not strict JSON; the message says why, for a person to read."""


def _reject_constant(name: str) -> Any:
    raise JSONRejected(f"{name} is not a JSON number (LaunchDarkly never sends NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JSONRejected(f"the number {text[:40]} is too large for a 64-bit float")
    return value


def _object_without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            # The decoder gives no position here; an id is the best pointer we have.
            ids = [v for k, v in pairs if k == "id" and isinstance(v, str)]
            where = f'the object with id "{ids[0]}"' if ids else "one object"
            raise JSONRejected(f'the key "{key}" appears twice in {where}')
        document[key] = value
    return document


def strict_loads(content: bytes | str) -> Any:
    """Decodes JSON; raises JSONRejected for invalid JSON, text that is not UTF-8, NaN or
    Infinity, numbers beyond a float, repeated keys in an object, and absurd nesting."""
    try:
        return json.loads(
            content,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=_object_without_repeated_keys,
        )
    except json.JSONDecodeError as error:
        reason = f"line {error.lineno} column {error.colno} ({error.msg})"
        raise JSONRejected(f"not valid JSON: {reason}") from error
    except UnicodeDecodeError as error:
        raise JSONRejected(f"not UTF-8 text: byte {error.start} ({error.reason})") from error
    except RecursionError as error:
        raise JSONRejected("not valid JSON: nested too deeply") from error
