"""Does a program's output count as the expected one? EvalPlus's comparison rules
(evalplus/eval/__init__.py, unsafe_execute), applied by the trusted parent to plain values decoded from the
sandbox, never inside it: the expected outputs never reach the program under test.
"""

from __future__ import annotations

import math

MBPP_OUTPUT_NOT_NONE = {"check_str", "text_match_three", "text_starta_endb"}
MBPP_OUTPUT_SET_EQ = {"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
                      "larg_nnum", "intersection_array", "find_dissimilar", "Diff"}


def _poly(xs, x):
    return sum(c * math.pow(x, i) for i, c in enumerate(xs))


def _pyramid_surface(base_edge, height):  # Mbpp/581: "height" read as the perpendicular height
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 2 * base_edge * slant)


def _digit_distance(a, b):  # Mbpp/558: shorter number padded with zeros
    left, right = str(a), str(b)
    width = max(len(left), len(right))
    return sum(abs(int(p) - int(q)) for p, q in zip(left.zfill(width), right.zfill(width)))


def _is_floats(value) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(v, float) for v in value)
    if type(value).__module__ == "numpy" and hasattr(value, "dtype"):
        return str(value.dtype) in ("float64", "float32")
    return False


def outputs_match(dataset: str, entry_point: str, inp, out, expected, atol: float) -> bool:
    """True when `out` counts as `expected` for EvalPlus; raises (a failure) where EvalPlus asserts."""
    if dataset == "humaneval" and entry_point == "find_zero":
        return abs(_poly(*inp, out)) <= atol
    exact = out == expected
    if dataset == "mbpp":
        if entry_point == "are_equivalent":
            exact = True
        elif entry_point == "sum_div":
            exact = exact or out == 0
        elif entry_point == "surface_Area":
            exact = exact or abs(out - _pyramid_surface(*inp)) <= atol
        elif entry_point == "digit_distance_nums":
            exact = exact or out == _digit_distance(*inp)
        elif entry_point in MBPP_OUTPUT_SET_EQ:
            exact = set(out) == set(expected)
        elif entry_point in MBPP_OUTPUT_NOT_NONE:
            exact = out == expected if isinstance(out, bool) else expected == (out is not None)
    if atol == 0 and _is_floats(expected):
        atol = 1e-6
    if not exact and atol != 0:
        import numpy as np  # only on this path: numpy costs ~100 ms to import

        if type(out) is not type(expected):
            return False
        if isinstance(expected, (list, tuple)) and len(out) != len(expected):
            return False
        return bool(np.allclose(out, expected, rtol=1e-07, atol=atol))
    return bool(exact)
