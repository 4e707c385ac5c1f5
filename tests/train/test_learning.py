"""A model that really learns, and the exact-match shortcut checked against real greedy decoding."""

import numpy as np
from transformers import GPT2LMHeadModel

from divlab.evaluate import evaluate_run
from divlab.train.loop import load_trained


def test_tiny_model_learns_a_few_rules(trained_run, few_rules_dataset):
    results = evaluate_run(trained_run, few_rules_dataset, progress=False)
    assert results["test_seen"]["accuracy"] >= 0.95
    # Four rules are far too few to generalize: the paper's headline, in miniature.
    assert results["test"]["accuracy"] < 0.3
    assert (trained_run / "eval.json").is_file()


def test_final_model_is_a_hugging_face_checkpoint(trained_run):
    model = GPT2LMHeadModel.from_pretrained(trained_run / "model")
    assert model.config.n_layer == 2 and model.config.n_embd == 64
    ours, _ = load_trained(trained_run)
    ids = np.array([[1, 5, 2, 6, 2, 5, 6, 7, 8, 5, 6, 3]])
    import torch

    with torch.no_grad():
        a = model(input_ids=torch.tensor(ids)).logits
        b = ours(input_ids=torch.tensor(ids)).logits
    assert torch.equal(a, b)
