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


def test_learning_curve_ends_where_divlab_eval_scores_the_final_model(trained_run, few_rules_dataset):
    from divlab.train.curves import learning_curve

    curve = learning_curve(trained_run)
    steps = [row["step"] for row in curve]
    assert steps == list(range(100, steps[-1], 100)) + [steps[-1]]  # every 100 steps, and at the end
    assert [row["examples_seen"] for row in curve] == sorted(row["examples_seen"] for row in curve)
    assert curve[0]["seen_accuracy"] < curve[-1]["seen_accuracy"]  # it learned along the way
    final = evaluate_run(trained_run, few_rules_dataset, progress=False, write=False)
    # The curve scores every test example here (eval_examples >= the split sizes), so its last point is the
    # final model's exact match, as `divlab eval` computes it on the saved Hugging Face checkpoint.
    assert curve[-1]["unseen_accuracy"] == final["test"]["accuracy"]
    assert curve[-1]["seen_accuracy"] == final["test_seen"]["accuracy"]


def test_eval_every_longer_than_the_run_is_refused_naming_the_flag(tmp_path, few_rules_dataset):
    from tests.conftest import run_cli

    result = run_cli("train", str(few_rules_dataset), "--out", str(tmp_path / "run"), "--model", "micro",
                     "--max-steps", "10", "--eval-every", "50", check=False)
    assert result.returncode == 2
    assert "--eval-every 50: is larger than the run (10 steps)" in result.stderr
    assert not (tmp_path / "run").exists()
