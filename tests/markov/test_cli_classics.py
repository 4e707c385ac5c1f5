"""Classic Markov algorithms from the literature, run through the CLI as a user would."""

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize(
    "rules, text, expected",
    [
        ("binary_to_unary.txt", "101", "|||||"),
        ("binary_to_unary.txt", "0", ""),
        ("unary_addition.txt", "111+11", "11111"),
        ("unary_multiplication.txt", "_1111*11111_", "1" * 20),
        ("unary_multiplication.txt", "_11*111_", "1" * 6),
        ("reverse.txt", "abbab", "babba"),
        ("reverse.txt", "aaab", "baaa"),
        ("reverse.txt", "", ""),
        ("bought.txt", "I bought a B of As from T S.", "I bought a bag of apples from my brother."),
        ("bought_terminating.txt", "I bought a B of As from T S.", "I bought a bag of apples from T shop."),
        # Rosetta Code's rule sets 3 and 5 with their published outputs.
        ("bnf_arrows.txt", "I bought a B of As W my Bgage from T S.", "I bought a bag of apples with my money from T shop."),
        ("busy_beaver.txt", "000000A000000", "00011H1111000"),
    ],
)
def test_classic_algorithms(fixtures, rules, text, expected):
    result = run_cli("markov", str(fixtures / "markov" / rules), text)
    assert result.stdout == expected + "\n"


def test_trace_goes_to_stderr(fixtures):
    result = run_cli("markov", str(fixtures / "markov" / "binary_to_unary.txt"), "10", "--trace")
    assert result.stdout == "||\n"
    steps = [line for line in result.stderr.splitlines() if "rule" in line and " at " in line]
    assert len(steps) == 4  # 10 -> 0|0 -> 00|| -> 0|| -> ||
    assert "halted after 4 steps" in result.stderr


def test_step_limit_exits_non_zero_with_a_clear_message(fixtures):
    result = run_cli("markov", str(fixtures / "markov" / "runaway.txt"), "a", "--max-steps", "5", check=False)
    assert result.returncode != 0
    assert "step limit reached: 5 steps" in result.stderr


def test_malformed_rules_file_names_the_line(tmp_path):
    rules = tmp_path / "bad.txt"
    rules.write_text("# fine\na -> b\noops\n")
    result = run_cli("markov", str(rules), "a", check=False)
    assert result.returncode == 2
    assert "line 3" in result.stderr and "oops" in result.stderr
