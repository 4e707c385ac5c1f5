from hypothesis import given, settings
from hypothesis import strategies as st

from divlab.markov import HaltReason, MarkovAlgorithm, Rule, rewrite_once


def test_paper_worked_examples():
    assert rewrite_once("aa", "bac", "caaba") == "cbacba"
    assert rewrite_once("iss", "art", "mississippi") == "martissippi"
    assert rewrite_once("iss", "art", "canada") == "canada"


def test_first_rule_in_order_wins_even_if_a_later_rule_matches_further_left():
    algorithm = MarkovAlgorithm([Rule("c", "X", terminating=True), Rule("a", "Y")])
    result = algorithm.run("abc")
    assert result.result == "abX"
    assert result.steps == 1
    assert result.halt_reason is HaltReason.TERMINATING_RULE


def test_no_rule_applies_halts_with_zero_steps():
    result = MarkovAlgorithm([Rule("z", "y")]).run("abc")
    assert (result.result, result.steps, result.halt_reason) == ("abc", 0, HaltReason.NO_RULE_APPLIES)


def test_step_limit_stops_runaway_and_says_so():
    result = MarkovAlgorithm([Rule("a", "aa")]).run("a", max_steps=7)
    assert result.halt_reason is HaltReason.STEP_LIMIT
    assert not result.halted
    assert result.steps == 7
    assert result.result == "a" * 8


def test_algorithm_that_halts_exactly_at_the_limit_is_not_cut_off():
    result = MarkovAlgorithm([Rule("a", "b")]).run("aaa", max_steps=3)
    assert result.halt_reason is HaltReason.NO_RULE_APPLIES
    assert result.result == "bbb"


def test_trace_records_every_step():
    result = MarkovAlgorithm([Rule("ab", "ba")]).run("aabb", trace=True)
    assert result.result == "bbaa"
    assert [step.after for step in result.trace] == ["abab", "baab", "baba", "bbaa"]
    assert [step.position for step in result.trace] == [1, 0, 2, 1]
    assert result.trace[0].before == "aabb"


def test_empty_pattern_matches_at_the_start():
    result = MarkovAlgorithm([Rule("", "x", terminating=True)]).run("abc")
    assert result.result == "xabc"


def reference_step(rules, text):
    """Straightforward reference: scan rules in order and positions left to right by slicing."""
    for rule_index, rule in enumerate(rules):
        for position in range(len(text) - len(rule.pattern) + 1):
            if text[position : position + len(rule.pattern)] == rule.pattern:
                return text[:position] + rule.replacement + text[position + len(rule.pattern):], rule_index, position
    return None


letters = st.text(alphabet="abc", max_size=12)
rules_strategy = st.lists(st.builds(Rule, st.text(alphabet="abc", max_size=3), st.text(alphabet="abc", max_size=3), st.booleans()), min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(rules=rules_strategy, text=letters)
def test_single_step_matches_reference(rules, text):
    assert MarkovAlgorithm(rules).step(text) == reference_step(rules, text)


@settings(max_examples=300, deadline=None)
@given(x=st.text(alphabet="ab", min_size=1, max_size=4), y=st.text(alphabet="ab", max_size=4), z=letters)
def test_task_rewrite_is_one_engine_step(x, y, z):
    expected = reference_step([Rule(x, y)], z)
    assert rewrite_once(x, y, z) == (expected[0] if expected else z)
