from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from divlab.codeeval.extract import extract_code
from divlab.codeeval.passk import pass_at_k, summarize


@pytest.mark.parametrize("n,c,k,expected", [
    (5, 2, 1, 0.4),            # c / n
    (5, 2, 2, 1 - 3 / 10),     # 1 - C(3,2)/C(5,2)
    (10, 0, 5, 0.0),
    (3, 3, 2, 1.0),
    (4, 1, 3, 1 - 1 / 4),      # 1 - C(3,3)/C(4,3)
    (4, 2, 3, 1.0),            # n - c < k: every 3-subset holds a correct one
    (20, 5, 10, 1 - comb(15, 10) / comb(20, 10)),
])
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_is_the_closed_form(nck):
    n, c, k = nck
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-9)


def test_pass_at_k_omitted_where_too_few_samples_and_bad_counts_refused():
    assert summarize({"a": (5, 1), "b": (5, 5)}, ks=(1, 10)) == {"pass@1": pytest.approx(0.6)}
    with pytest.raises(ValueError, match=r"correct=6: must lie in \[0, 5\]"):
        pass_at_k(5, 6, 1)
    with pytest.raises(ValueError, match="pass@10"):
        pass_at_k(5, 1, 10)


def test_extract_fenced_block_picks_the_one_defining_the_entry_point():
    answer = ("Sure! Here is a helper:\n```python\nimport math\n```\nand the solution:\n"
              "```python\ndef add(a, b):\n    return a + b\n```\nHope this helps.")
    assert extract_code(answer, "add") == "def add(a, b):\n    return a + b\n"


def test_extract_unlabelled_and_unclosed_fences():
    assert extract_code("```\ndef f():\n    return 1\n```") == "def f():\n    return 1\n"
    assert extract_code("Answer:\n```python\ndef f():\n    return 2\n") == "def f():\n    return 2\n"


def test_extract_without_fences_drops_leading_and_trailing_prose():
    answer = "Here you go.\ndef f(x):\n    return x * 2\n\nThis doubles x, as asked."
    code = extract_code(answer, "f")
    assert code == "def f(x):\n    return x * 2\n"
    namespace = {}
    exec(code, namespace)
    assert namespace["f"](4) == 8


def test_prompt_imports_are_added_only_when_missing():
    from divlab.codeeval.extract import add_prompt_imports

    prompt = 'from typing import List\nimport math\n\n\ndef f(xs: List[int]) -> int:\n    """doc"""\n'
    code = "def f(xs: List[int]) -> int:\n    return len(xs)\n"
    assert add_prompt_imports(code, prompt) == "from typing import List\nimport math\n" + code
    assert add_prompt_imports("import math\n" + code, prompt) == "from typing import List\nimport math\n" + code
    full = "from typing import List\nimport math\n" + code
    assert add_prompt_imports(full, prompt) == full
