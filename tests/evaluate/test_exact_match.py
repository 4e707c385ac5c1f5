"""The evaluator: breakdowns on hand-made splits with known answers, and the teacher-forced exact-match
shortcut checked against real greedy decoding."""

import numpy as np
import pytest

from divlab.evaluate import greedy_decode, teacher_forced_correct
from divlab.evaluate.metrics import breakdown
from divlab.train.batching import TokenizedSplit, tokenize_split
from divlab.train.loop import load_trained


def _split(has_op, occurrences, rule_ids, **more) -> TokenizedSplit:
    n = len(has_op)
    return TokenizedSplit(ids=np.zeros(n, dtype=np.int16), offsets=np.arange(n + 1), answer_starts=np.zeros(n, dtype=int),
                          has_op=np.array(has_op), rule_ids=np.array(rule_ids),
                          breakdowns={"occurrences": np.array(occurrences), **{k: np.array(v) for k, v in more.items()}})


def test_breakdown_known_answers():
    split = _split([True, True, False, False, True, False], [1, 2, 0, 0, 1, 0], [7, 7, 7, 8, 8, 9])
    correct = np.array([True, False, True, True, True, False])
    result = breakdown(split, correct)
    assert result["examples"] == 6
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["has_op_accuracy"] == pytest.approx(2 / 3) and result["no_op_accuracy"] == pytest.approx(2 / 3)
    assert result["by_occurrences"] == {"0": pytest.approx(2 / 3), "1": 1.0, "2": 0.0}
    # Every field the task names gets its own breakdown (program: steps).
    steps = breakdown(_split([True] * 6, [1] * 6, [7] * 6, steps=[1, 1, 2, 2, 3, 3]), correct)
    assert steps["by_steps"] == {"1": 0.5, "2": 1.0, "3": 0.5}
    # Per rule: rule 7 gets 2 of 3, rule 8 both, rule 9 none.
    assert result["per_rule"]["rules"] == 3 and result["per_rule"]["fully_correct_rules"] == 1
    assert result["per_rule"]["mean"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert result["per_rule"]["quantiles"]["0.0"] == 0.0 and result["per_rule"]["quantiles"]["1.0"] == 1.0
    assert sum(result["per_rule"]["histogram"]) == 3


def test_breakdown_of_a_split_without_no_ops_says_none():
    result = breakdown(_split([True, True], [1, 1], [0, 1]), np.array([True, True]))
    assert result["no_op_accuracy"] is None and result["accuracy"] == 1.0


def test_teacher_forced_exact_match_equals_greedy_decoding(trained_run, few_rules_dataset):
    model, tokenizer = load_trained(trained_run)
    right = wrong = 0
    for split_name in ("test_seen", "test"):
        split = tokenize_split(few_rules_dataset, split_name, tokenizer, limit=200)
        fast = teacher_forced_correct(model, split, tokenizer.pad_id, batch_tokens=512)
        decoded = greedy_decode(model, tokenizer, split, batch_size=17)
        for i, ids in enumerate(decoded):
            target = split.sequence(i)[split.answer_starts[i]:].tolist()  # answer + <eos>
            assert (ids == target) == bool(fast[i]), (split_name, i, ids, target)
        right += int(fast.sum())
        wrong += int((~fast).sum())
    assert right > 50 and wrong > 50  # both outcomes are exercised
