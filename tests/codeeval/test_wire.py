"""The wire format: what the runner writes round-trips exactly, and whatever else arrives is refused as
that sample's failure (NotPlainData), in time and memory bounded by the caps the parent set, never an
exception of the run."""

import collections
import math

import numpy as np
import pytest

from divlab.codeeval import wire
from divlab.codeeval.wire import NotPlainData, caps_for, decode_value, parse_stream, plain_text

VALUES = [None, True, 0, -7, 2**5000, -(2**5000), 1.5, -0.0, math.inf, -math.inf, "é\n\"x\"", b"\x00\xff",
          (1, (2, [3])), [], (), {3, 1, 2}, frozenset({"a", "b"}), {"b": 1, "a": [1, 2]}, complex(1.5, -2),
          complex(math.inf, 0.0), collections.Counter("abca"), collections.OrderedDict([(2, "x"), (1, "y")]),
          collections.deque([1, 2]), np.True_, np.int32(7), np.float32(0.1), np.arange(6, dtype=np.int16).reshape(2, 3),
          [{"k": (None, {1.25})}]]


def _round_trip(value):
    text = plain_text(value).encode()
    return decode_value(text, *caps_for(text.decode()))


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_every_plain_value_round_trips_with_its_exact_type(value):
    back = _round_trip(value)
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and (back == value).all()
    else:
        assert back == value or (back != back and value != value)
        if isinstance(value, (dict, collections.OrderedDict)):
            assert list(back) == list(value)  # insertion order kept


def test_numpy_scalars_keep_their_identity():
    """HumanEval/72's test asserts `... is True`: np.True_ must fail it here as in the program's process."""
    assert _round_trip(np.True_) is not True and _round_trip(True) is True
    assert _round_trip(np.float64(0.5)).dtype == np.float64


def test_sets_keep_their_iteration_order():
    """A replayed test that iterates a returned set sees the program's order: {33, 1} built in that order
    iterates 33 first (33 and 1 share a slot of the 8-slot table); rebuilt from sorted members, 1 first."""
    built = set()
    built.add(33)
    built.add(1)
    assert list(built) == [33, 1] and list(set(sorted(built))) == [1, 33]
    assert list(_round_trip(built)) == [33, 1]


@pytest.mark.parametrize("text, why", [
    (b"[" * 5000 + b"]" * 5000, "malformed output"),  # past the JSON parser's recursion limit
    (b"[" * 150 + b"]" * 150, "nested more than"),  # within it, past ours
    (b'{"complex": [' + b"9" * 400 + b", 0.0]}", "not a float"),  # an OverflowError in complex()
    (b"1" * 5000, "malformed output"),  # past int's digit limit
    (b"NaN", "malformed output"),  # bare constants are not what the runner writes
    (b'{"int": "12"}', "unknown tag"),
    (b'{"set": [[1]]}', "malformed set"),  # unhashable member
    (b'{"ndarray": ["object", [1]]}', "unknown tag"),
    (b'{"tuple": [1], "x": 2}', "not a plain value"),
    (b"\xff", "malformed output"),
], ids=["deep", "nested", "complex", "digits", "nan", "int", "unhashable", "dtype", "two keys", "bytes"])
def test_malformed_values_are_refused_with_a_short_reason(text, why):
    with pytest.raises(NotPlainData, match=why):
        decode_value(text, 1 << 20, 1 << 16)


def test_caps_come_from_the_expected_output_and_bind_before_parsing():
    max_bytes, max_containers = caps_for("[1, 2, 3]")
    assert max_bytes < 9000 and max_containers < 100
    empty_lists = b"[" + b"[], " * 2_000_000 + b"[]]"  # ~21x its size in memory once parsed
    with pytest.raises(NotPlainData, match="allowed for this call"):
        decode_value(empty_lists, max_bytes, max_containers)
    with pytest.raises(NotPlainData, match="more containers"):
        decode_value(b"[" + b"[], " * 1000 + b"[]]", 1 << 20, max_containers)
    close = plain_text([0.1 + 0.2] * 1000)  # a close float's text is up to 8x a short one's
    assert decode_value(close.encode(), *caps_for(plain_text([0.3] * 1000))) == [0.1 + 0.2] * 1000


def test_members_that_hash_alike_are_refused_in_linear_time():
    colliding = [k * (2**61 - 1) for k in range(100_000)]  # one hash for all: a quadratic set build
    assert len({hash(x) for x in colliding}) == 1
    text = ('{"set": [%s]}' % ", ".join(map(str, colliding))).encode()
    with pytest.raises(NotPlainData, match="share a hash"):  # refused before the set is built (that took ~150 s)
        decode_value(text, 1 << 30, 1 << 20)
    assert decode_value(b'{"set": [%s]}' % b", ".join(b"%d" % i for i in range(100_000)), 1 << 30, 10) == set(range(100_000))


def test_streams_are_read_as_records_the_runner_can_have_written():
    good = b"ready\nok 0.1 0.0 [1, 2]\ndigest 0.5 0.1 " + b"a" * 64 + b" 10\nraised ValueError: x\n"
    stream = parse_stream(good, 3)
    assert stream.loaded and [r.kind for r in stream.records] == ["ok", "digest", "raised"]
    assert stream.records[0].body == b"[1, 2]" and stream.records[2].body == "ValueError: x"
    assert parse_stream(b"error SyntaxError: bad\n", 3).error == "SyntaxError: bad"
    for bad, why in [(b"ok 0 0 1\n", "does not start"), (b"ready\nok 0 0 1", "cut off"),
                     (b"ready\n" + b"ok 0 0 1\n" * 4, "more records"), (b"ready\nraised x\nok 0 0 1\n", "more records|after"),
                     (b"ready\nok nan 0 1\n", "time"), (b"ready\ndigest 0 0 xyz 1\n", "digest"),
                     (b"ready\nsmall 0 0 1\n", "unknown record"), (b"", "empty")]:
        with pytest.raises(NotPlainData, match=why):
            parse_stream(bad, 3)


def test_the_runner_sends_what_the_parent_asked_for():
    assert wire.result_line(wire.DIGEST, [1, 2], 0.5, lambda: 0.0).startswith("digest 0.5 0.0 ")
    assert wire.result_line(wire.AUTO, [1, 2], 0.5, lambda: 0.0) == "ok 0.5 0.0 [1, 2]\n"
    with pytest.raises(NotPlainData, match="more than the 4 allowed"):
        wire.result_line(4, [1, 2], 0.5, lambda: 0.0)
    with pytest.raises(NotPlainData, match="cannot be compared"):
        wire.result_line(wire.DIGEST, {1: object()}, 0.5, lambda: 0.0)
