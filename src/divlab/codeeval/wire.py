"""The wire format between a sandboxed program's runner and the trusted parent. Standard library only:
the runner (`_runner.py`, beside the untrusted program) and the parent (`judge.py`) both use it, and it
decides nothing.

Parent -> runner, per call: how its output must come back, chosen by the parent from the EXPECTED side:
`DIGEST` (the SHA-256 of its marshal, for expected outputs too large to send), `AUTO` (digest when large:
reference runs only, whose code is trusted), or a positive cap on the output's text in bytes.

Runner -> parent: a stream of lines, one record each, written to a pipe the program also holds:

    ready                                    the program is loaded; its first call starts
    ok SECONDS ENCODING TEXT                 one call's output as tagged JSON text (one line)
    digest SECONDS ENCODING SHA256 SIZE      one call's output as a digest (only where asked)
    raised TEXT                              the call raised or could not be sent; nothing follows
    error TEXT                               the program could not be loaded; nothing follows

Whatever the program writes there is only ever a candidate: the parent reads a record's kind against what
it asked for (a `digest` where it asked for a value is a failure, and no value equals a parent marker),
cuts the text to the cap it set before parsing, and decodes depth-, size- and hash-bounded
(`decode_value`). Anything else is `NotPlainData`: that sample's failure, never an exception of the run.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import math
import sys

DIGEST, AUTO = -1, 0  # send modes; a positive mode is a cap in bytes on the output's text
# An output whose marshal (version 0: no references, no interning, floats as text, so equal values of the
# same exact types give equal bytes) exceeds this travels as a digest in AUTO mode: Mbpp/255's outputs run
# to 1.3 GB of text.
DIGEST_ABOVE = 1 << 20
# What the sandbox is told of how to send a candidate's outputs must not depend on the expected outputs (a
# per-call cap of 8192 + 8 x the expected text's length told a program the length of each answer, enough to
# tell "true" from "false"): the runner gets one mode for every call (`sandbox_modes`), a cap on any value's
# text that is the same for every task, and the parent enforces each call's own cap when it decodes.
SEND_CAP = 64 << 20
MAX_DEPTH = 100  # nesting of a value
MAX_REASON = 500  # characters of an error kept
_BIG = 1 << 4096

# The zygote's supervisor replies (kind, value) for each program.
REPLY_EXITED, REPLY_SIGNALED, REPLY_TIMEOUT = 0, 1, 2


def sandbox_modes(modes: list[int]) -> list[int]:
    """What the runner is sent for a task whose calls the parent judges with `modes` (decided from the
    expected outputs): the same mode for every call, and one of two values only, so nothing of any expected
    output reaches the program. `AUTO` (a digest for outputs whose marshal exceeds DIGEST_ABOVE, text
    otherwise) where some expected output of the task is a digest; else `SEND_CAP`, for every task alike."""
    mode = AUTO if DIGEST in modes else SEND_CAP
    return [mode] * len(modes)


class NotPlainData(TypeError):
    """A value that cannot travel (runner side) or a record that is malformed (parent side)."""


# -- runner side: a value as tagged JSON text ------------------------------------------------------------
def digest_of(value, always: bool = False) -> tuple[str, int] | None:
    """(SHA-256, size) of `value`'s marshal when that is larger than DIGEST_ABOVE (or `always`); None
    when it is small or not marshallable (marshal refuses every subclass: nothing rigged gets through)."""
    try:
        packed = marshal.dumps(value, 0)
    except ValueError:
        return None
    if len(packed) <= DIGEST_ABOVE and not always:
        return None
    return hashlib.sha256(packed).hexdigest(), len(packed)


def plain_text(value) -> str:
    """`value` as tagged JSON text (tags for what JSON lacks: tuple, set, dict, complex, big ints,
    non-finite floats, bytes, numpy values). Exact types only, so no subclass can bring its own
    comparison; sets in their iteration order, dicts in their insertion order."""
    parts = []
    _emit(value, parts.append, 0)
    return "".join(parts)


def plain_text_or_none(value) -> str | None:
    """plain_text(value), or None for a value that is not plain data (or too deep to write)."""
    try:
        return plain_text(value)
    except (NotPlainData, RecursionError):
        return None


def _emit(value, write, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise NotPlainData(f"nested more than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None:
        write("null")
    elif kind is bool:
        write("true" if value else "false")
    elif kind is str:
        write(json.encoder.encode_basestring_ascii(value))
    elif kind is int:  # past ~4,300 digits Python refuses decimal text (CVE-2020-10735); hex has no limit
        write(str(value) if -_BIG < value < _BIG else '{"int": "%s"}' % hex(value))
    elif kind is float:
        write(_float(value))
    elif kind is list or kind is tuple:
        write("[" if kind is list else '{"tuple": [')
        for i, item in enumerate(value):
            if i:
                write(", ")
            _emit(item, write, depth + 1)
        write("]" if kind is list else "]}")
    elif kind is set or kind is frozenset:  # in iteration order: rebuilt so, a replayed test iterates alike
        write('{"%s": [%s]}' % (kind.__name__, ", ".join(_piece(v, depth) for v in value)))
    elif kind is dict:
        _emit_pairs("dict", value.items(), write, depth)
    elif kind is complex:
        write('{"complex": [%s, %s]}' % (_float(value.real), _float(value.imag)))
    elif kind is bytes:
        write('{"bytes": "%s"}' % value.hex())
    else:
        _emit_other(value, kind, write, depth)


def _float(value: float) -> str:
    return repr(value) if math.isfinite(value) else '{"float": "%s"}' % repr(value)


def _piece(value, depth: int) -> str:
    parts = []
    _emit(value, parts.append, depth + 1)
    return "".join(parts)


def _emit_pairs(tag: str, items, write, depth: int) -> None:
    """Insertion order kept: a test may pass a dict whose order matters (HumanEval/95)."""
    write('{"%s": [%s]}' % (tag, ", ".join("[%s, %s]" % (_piece(k, depth), _piece(v, depth)) for k, v in items)))


NUMPY_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                          "float16", "float32", "float64", "complex64", "complex128"})


def _emit_other(value, kind, write, depth: int) -> None:
    """Standard containers some references return (Mbpp/40: Counter), rebuilt by the parent from their
    items with its own classes; numpy arrays and scalars with their dtype, so that they are numpy values
    in the replayed test too (`np.True_ is True` is false there as in the program's process)."""
    collections = sys.modules.get("collections")
    if collections is not None and kind in (collections.Counter, collections.OrderedDict, collections.defaultdict):
        tag = "dict" if kind is collections.defaultdict else kind.__name__
        return _emit_pairs(tag, dict.items(value), write, depth)
    if collections is not None and kind is collections.deque:
        return write('{"deque": %s}' % _piece(list(value), depth))
    numpy = sys.modules.get("numpy")
    if numpy is not None and kind.__module__ == "numpy":
        dtype = getattr(value, "dtype", None)
        name = dtype.name if isinstance(dtype, numpy.dtype) else None
        if kind is numpy.ndarray and name in NUMPY_DTYPES:
            return write('{"ndarray": ["%s", %s]}' % (name, _piece(value.tolist(), depth)))
        if isinstance(value, numpy.generic) and name in NUMPY_DTYPES and kind is numpy.dtype(name).type:
            return write('{"npscalar": ["%s", %s]}' % (name, _piece(value.item(), depth)))
    raise NotPlainData(f"returned a {kind.__module__}.{kind.__qualname__}, not plain data")


def one_line(text: str) -> str:
    return text[:MAX_REASON].replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def result_line(mode: int, out, seconds: float, encode_seconds) -> str:
    """The record for one call's output, as the parent asked (`mode`); NotPlainData when it cannot be sent."""
    if mode == DIGEST:
        digest = digest_of(out, always=True)
        if digest is None:
            raise NotPlainData(f"returned a {type(out).__qualname__} that cannot be compared with a large output")
    else:
        digest = digest_of(out) if mode == AUTO else None
    text = plain_text(out) if digest is None else None
    if text is not None and mode > 0 and len(text) > mode:
        raise NotPlainData(f"an output of {len(text)} bytes, more than the {mode} allowed for this call")
    encoding = encode_seconds()
    if digest is None:
        return f"ok {seconds!r} {encoding!r} {text}\n"
    return f"digest {seconds!r} {encoding!r} {digest[0]} {digest[1]}\n"


# -- parent side: the stream, then each value, bounded --------------------------------------------------
class Record:
    """One call's record: kind "ok" (body: the value's text, undecoded), "digest" (body: the SHA-256) or
    "raised" (body: the reason)."""

    __slots__ = ("kind", "seconds", "encoding", "body", "end")

    def __init__(self, kind: str, seconds: float, encoding: float, body, end: int):
        self.kind, self.seconds, self.encoding, self.body, self.end = kind, seconds, encoding, body, end


class Stream:
    """What a runner's stream says: whether the program loaded, its error, one Record per call reached."""

    def __init__(self, loaded: bool, error: str | None, records: list[Record], ready_end: int = 0):
        self.loaded, self.error, self.records, self.ready_end = loaded, error, records, ready_end


def _reason(raw: bytes) -> str:
    return raw[:MAX_REASON * 2].decode("utf-8", "replace")[:MAX_REASON]


def _seconds(raw: bytes) -> float:
    if len(raw) > 32:
        raise NotPlainData("a malformed time")
    try:
        value = float(raw)
    except ValueError:
        raise NotPlainData("a malformed time") from None
    if not 0 <= value < 1e9:
        raise NotPlainData("a malformed time")
    return value


def parse_stream(raw: bytes, n_calls: int) -> Stream:
    """The records of a runner's stream, structure only (values stay text): `NotPlainData` when it is
    not one the runner can have written. Linear in its size; at most n_calls + 2 lines are split."""
    if raw.count(b"\n") > n_calls + 2:
        raise NotPlainData("more records than calls")
    lines = raw.split(b"\n")
    if lines[-1]:
        raise NotPlainData("the result stream is cut off")
    lines.pop()
    if not lines:
        raise NotPlainData("an empty result stream")
    kind, _, rest = lines[0].partition(b" ")
    if kind == b"error":
        return Stream(False, _reason(rest), [])
    if lines[0] != b"ready":
        raise NotPlainData("the result stream does not start with the program loaded")
    offset = len(lines[0]) + 1
    ready_end, records = offset, []
    for number, line in enumerate(lines[1:]):
        offset += len(line) + 1
        kind, _, rest = line.partition(b" ")
        if kind == b"raised":
            records.append(Record("raised", 0.0, 0.0, _reason(rest), offset))
            if number != len(lines) - 2:
                raise NotPlainData("records after a raised call")
            break
        if len(records) >= n_calls:
            raise NotPlainData("more records than calls")
        if kind == b"ok":
            seconds, encoding, text = (rest.split(b" ", 2) + [b"", b""])[:3]
            records.append(Record("ok", _seconds(seconds), _seconds(encoding), text, offset))
        elif kind == b"digest":
            fields = rest.split(b" ")
            if len(fields) != 4 or len(fields[2]) != 64 or len(fields[3]) > 20 or not fields[3].isdigit():
                raise NotPlainData("a malformed digest record")
            try:
                sha = fields[2].decode("ascii")
                int(sha, 16)
            except ValueError:
                raise NotPlainData("a malformed digest record") from None
            records.append(Record("digest", _seconds(fields[0]), _seconds(fields[1]), sha, offset))
        else:
            raise NotPlainData(f"an unknown record {kind[:20]!r}")
    return Stream(True, None, records, ready_end)


def caps_for(expected_text: str | None) -> tuple[int, int]:
    """(bytes, containers) a candidate's text may take where the expected output's text is this: room for
    any equal or close value (a float's shortest text is 3 characters, its longest 24), never more; the
    containers bound the memory a parse can take (an empty list costs ~20x its text)."""
    if expected_text is None:
        return 1 << 20, 1 << 16
    containers = expected_text.count("[") + expected_text.count("{")
    return 8192 + 8 * len(expected_text), 64 + 2 * containers


_COLLECTIONS = {"tuple": tuple, "set": set, "frozenset": frozenset}
_FLOATS = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def decode_value(text: bytes, max_bytes: int, max_containers: int):
    """The value a record's text stands for, parsed only within the caps the parent set from the
    expected output, then built depth-bounded, with hashing checked before any set or dict is built."""
    if len(text) > max_bytes:
        raise NotPlainData(f"an output of {len(text)} bytes, more than the {max_bytes} allowed for this call")
    if text.count(b"[") + text.count(b"{") > max_containers:
        raise NotPlainData("an output with far more containers than the expected one")
    try:
        data = json.loads(text.decode("ascii"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NotPlainData(f"a malformed output ({type(exc).__name__})") from None
    return _build(data, 0)


def _no_constant(name):
    raise ValueError(f"{name} is not plain text")


def _build(data, depth: int):
    if depth > MAX_DEPTH + 2:
        raise NotPlainData(f"an output nested more than {MAX_DEPTH} levels")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [_build(v, depth + 1) for v in data]
    if kind is not dict or len(data) != 1:
        raise NotPlainData("not a plain value")
    (tag, body), = data.items()
    try:
        if tag in _COLLECTIONS and type(body) is list:
            items = [_build(v, depth + 1) for v in body]
            if tag != "tuple":
                _check_hashes(items)
            return _COLLECTIONS[tag](items)
        if tag in ("dict", "Counter", "OrderedDict") and type(body) is list:
            if not all(type(p) is list and len(p) == 2 for p in body):
                raise NotPlainData(f"malformed {tag}")
            pairs = [(_build(k, depth + 1), _build(v, depth + 1)) for k, v in body]
            _check_hashes([k for k, _ in pairs])
            return _mapping(tag, pairs)
        if tag == "deque" and type(body) is list:
            import collections

            return collections.deque(_build(v, depth + 1) for v in body)
        if tag == "float" and body in _FLOATS:
            return _FLOATS[body]
        if tag == "complex" and type(body) is list and len(body) == 2:
            return complex(*(_float_part(v) for v in body))
        if tag == "int" and type(body) is str and body.lstrip("-")[:2] == "0x":
            return int(body, 16)
        if tag == "bytes" and type(body) is str:
            return bytes.fromhex(body)
        if tag in ("ndarray", "npscalar") and type(body) is list and len(body) == 2 and body[0] in NUMPY_DTYPES:
            return _numpy(tag, body[0], _build(body[1], depth + 1))
    except (TypeError, ValueError, OverflowError) as exc:  # unhashable members or keys, odd hex, ragged arrays
        raise NotPlainData(f"malformed {str(tag)[:20]}: {str(exc)[:100]}") from None
    raise NotPlainData(f"unknown tag {str(tag)[:40]!r}")


def _float_part(value) -> float:
    if type(value) is float:
        return value
    if type(value) is dict and len(value) == 1 and value.get("float") in _FLOATS:
        return _FLOATS[value["float"]]
    raise NotPlainData("a complex part is not a float")


def _mapping(tag: str, pairs: list):
    if tag == "dict":
        return dict(pairs)
    import collections

    return collections.Counter(dict(pairs)) if tag == "Counter" else collections.OrderedDict(pairs)


def _check_hashes(items: list) -> None:
    """Refuse members that mostly hash alike (ints a multiple of 2**61 - 1 apart): building a set of them
    is quadratic (100,000 such ints: minutes). Honest data has almost no collisions."""
    if len(items) < 64:
        return
    hashes = {hash(item) for item in items}
    if len(items) - len(hashes) > len(items) // 16 + 16:
        raise NotPlainData(f"{len(items) - len(hashes)} of {len(items)} set members or keys share a hash")


def _numpy(tag: str, dtype: str, value):
    import numpy

    if tag == "ndarray":
        return numpy.array(value, dtype=dtype)
    if type(value) not in (bool, int, float, complex):
        raise NotPlainData("a numpy scalar that is not a number")
    return numpy.dtype(dtype).type(value)
