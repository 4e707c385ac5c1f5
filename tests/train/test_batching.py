import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from divlab.errors import DataError
from divlab.models.tokenizer import CharTokenizer
from divlab.train.batching import IGNORE, collate, epoch_batches, plan_batches, tokenize_rows


def test_sequence_layout_and_loss_mask():
    tokenizer = CharTokenizer("abc")
    rows = [
        {"x": "ab", "y": "c", "z": "cabc", "target": "ccc", "has_op": True, "occurrences": 1, "rule_id": 0},
        {"x": "b", "y": "a", "z": "c", "target": "c", "has_op": False, "occurrences": 0, "rule_id": 1},
    ]
    split = tokenize_rows(rows, tokenizer)
    a, b, c = (tokenizer.index[ch] for ch in "abc")
    bos, sep, ans, eos, pad = tokenizer.bos_id, tokenizer.sep_id, tokenizer.ans_id, tokenizer.eos_id, tokenizer.pad_id
    assert split.sequence(0).tolist() == [bos, a, b, sep, c, sep, c, a, b, c, ans, c, c, c, eos]
    assert split.sequence(0).tolist() == tokenizer.encode_example("ab", "c", "cabc", "ccc").ids
    assert split.answer_starts.tolist() == [11, 7]
    ids, labels = collate(split, np.array([0, 1]), pad)
    assert ids[1].tolist() == [bos, b, sep, a, sep, c, ans, c, eos] + [pad] * 6
    # Labels sit exactly on the answer and <eos>; prompts and padding carry none.
    assert labels[0].tolist() == [IGNORE] * 11 + [c, c, c, eos]
    assert labels[1].tolist() == [IGNORE] * 7 + [c, eos] + [IGNORE] * 6


def test_unknown_character_is_named():
    import pytest

    with pytest.raises(DataError, match="'z'"):
        tokenize_rows([{"x": "z", "y": "a", "z": "a", "target": "a", "has_op": False, "occurrences": 0, "rule_id": 0}], CharTokenizer("abc"))


@settings(max_examples=50, deadline=None)
@given(lengths=st.lists(st.integers(5, 60), min_size=1, max_size=300), batch_size=st.integers(1, 40), tokens=st.sampled_from([0, 64, 500]))
def test_batches_cover_every_example_once(lengths, batch_size, tokens):
    lengths = np.array(lengths)
    order = np.random.default_rng(0).permutation(len(lengths))
    batches = plan_batches(lengths, batch_size, tokens, order)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for batch in batches:
        if tokens:
            assert len(batch) == 1 or len(batch) * lengths[batch].max() <= tokens
        else:
            assert len(batch) <= batch_size


def test_epoch_order_is_a_function_of_seed_and_epoch():
    tokenizer = CharTokenizer("ab")
    rows = [{"x": "a" * (1 + i % 3), "y": "b", "z": "ab" * (1 + i % 5), "target": "b", "has_op": True, "occurrences": 1, "rule_id": 0} for i in range(100)]
    split = tokenize_rows(rows, tokenizer)
    first = [b.tolist() for b in epoch_batches(split, 8, 0, seed=3, epoch=1)]
    assert first == [b.tolist() for b in epoch_batches(split, 8, 0, seed=3, epoch=1)]
    assert first != [b.tolist() for b in epoch_batches(split, 8, 0, seed=3, epoch=2)]
