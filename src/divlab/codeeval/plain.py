"""Plain data out of a sandbox: the tagged JSON text that `_runner.plain_text` writes, turned back into
Python values by the trusted parent.

Why by hand: pickle and marshal execute or crash on crafted input, and `ast.literal_eval` has no
non-finite floats and no way to tell a program's tuple from its list once JSON-like. Whatever a
program writes into its result file is parsed here as data only: anything but the tagged shapes below is
`NotPlainData`, which the verdict counts as a wrong answer.
"""

from __future__ import annotations

import collections
import json

from dataclasses import dataclass

from divlab.codeeval._runner import NotPlainData, digest_of, plain_text

__all__ = ["Digest", "NotPlainData", "decode_plain", "digest_of", "output_of", "parse_document", "plain_text"]


@dataclass(frozen=True)
class Digest:
    """An output too large to send as text (`_runner.DIGEST_ABOVE`): equal only to the same bytes."""

    sha256: str
    size: int



_COLLECTIONS = {"tuple": tuple, "set": set, "frozenset": frozenset}
_MAPPINGS = {"dict": dict, "Counter": lambda pairs: collections.Counter(dict(pairs)), "OrderedDict": collections.OrderedDict}
_FLOATS = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def decode_plain(data):
    """The value whose text (`plain_text`, parsed as JSON) this is; `NotPlainData` for anything
    `plain_text` cannot have written."""
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [decode_plain(v) for v in data]
    if kind is not dict or len(data) != 1:
        raise NotPlainData(f"not a plain value: {str(data)[:80]}")
    (tag, body), = data.items()
    try:
        if tag in _COLLECTIONS and type(body) is list:
            return _COLLECTIONS[tag](decode_plain(v) for v in body)
        if tag in _MAPPINGS and type(body) is list and all(type(p) is list and len(p) == 2 for p in body):
            return _MAPPINGS[tag]((decode_plain(k), decode_plain(v)) for k, v in body)
        if tag == "deque" and type(body) is list:
            return collections.deque(decode_plain(v) for v in body)
        if tag == "float" and body in _FLOATS:
            return _FLOATS[body]
        if tag == "complex" and type(body) is list and len(body) == 2:
            return complex(*(_number(decode_plain(v)) for v in body))
        if tag == "int" and type(body) is str:
            return int(body, 16)
        if tag == "bytes" and type(body) is str:
            return bytes.fromhex(body)
        if tag == "ndarray":
            import numpy as np

            return np.array(decode_plain(body))
    except (TypeError, ValueError) as exc:  # unhashable set members or keys, odd hex, ragged arrays
        raise NotPlainData(f"malformed {tag}: {exc}") from None
    raise NotPlainData(f"unknown tag {str(tag)[:40]!r}")


def _number(value):
    if type(value) not in (int, float):
        raise NotPlainData(f"a complex part is a {type(value).__name__}")
    return value


def output_of(result):
    """One call's output from the runner's result entry, as a value; `NotPlainData` saying why there is
    none (what the program raised, or a malformed entry)."""
    if type(result) is not dict or "ok" not in result:
        raise NotPlainData(str(result.get("raised") if type(result) is dict else result)[:300])
    return decode_plain(result["ok"])


def parse_document(raw: bytes) -> dict:
    """The runner's result document (a JSON object), or `NotPlainData` for anything else."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NotPlainData(f"the result is not JSON ({type(exc).__name__})") from None
    if type(document) is not dict:
        raise NotPlainData("the result is not a JSON object")
    return document
