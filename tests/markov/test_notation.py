import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divlab.markov import Rule, RulesSyntaxError, format_rule, parse_rules


def test_usual_notation():
    rules = parse_rules(
        "# a comment\n\nA -> apple\n  the shop -> my brother  \nS -> .shop\nx ->\n-> start\n"
    )
    assert rules == [
        Rule("A", "apple"),
        Rule("the shop", "my brother"),
        Rule("S", "shop", terminating=True),
        Rule("x", ""),
        Rule("", "start"),
    ]


def test_quoted_sides_keep_blanks_arrows_and_dots():
    rules = parse_rules('" a " -> ." b->c "\n"#" -> ".x"\n"" -> ""')
    assert rules == [Rule(" a ", " b->c ", True), Rule("#", ".x"), Rule("", "")]


def test_the_arrow_is_whitespace_delimited():
    # An arrow touching other text is literal (Rosetta Code's rule set 3 relies on this).
    assert parse_rules("Bgage -> ->.*\n->.* -> money\na->b -> c->d\n_+_ -> \n") == [
        Rule("Bgage", "->.*"), Rule("->.*", "money"), Rule("a->b", "c->d"), Rule("_+_", "")]
    assert parse_rules("x -> -> y") == [Rule("x", "-> y")]
    with pytest.raises(RulesSyntaxError, match="whitespace on both sides"):
        parse_rules("a->b")


def test_unicode_arrow_and_any_characters():
    assert parse_rules("αβ → βα") == [Rule("αβ", "βα")]


@pytest.mark.parametrize(
    "text, line",
    [("a -> b\nno arrow here\n", 2), ('# c\n\n"unterminated -> b\n', 3), ('a -> "x" trailing\n', 1)],
)
def test_malformed_line_is_named(text, line):
    with pytest.raises(RulesSyntaxError) as info:
        parse_rules(text, source="rules.txt")
    assert info.value.line_number == line
    assert f"rules.txt, line {line}" in str(info.value)


side = st.text(alphabet=st.sampled_from(list('ab ."#->→\\')), max_size=6)


@settings(max_examples=300, deadline=None)
@given(pattern=side, replacement=side, terminating=st.booleans())
def test_format_then_parse_round_trips(pattern, replacement, terminating):
    rule = Rule(pattern, replacement, terminating)
    assert parse_rules(format_rule(rule)) == [rule]
