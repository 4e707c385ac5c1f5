"""The compact stacked GPT-2: equal to Hugging Face's GPT-2, and a stack equal to its members trained alone."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import GPT2LMHeadModel

from divlab.errors import ConfigError
from divlab.models.gpt import ModelConfig
from divlab.models.stacked import StackedGPT, export_member
from divlab.tasks.rewrite import RewriteConfig, generate_rewrite
from divlab.train import train
from divlab.train.loop import train_group

from .conftest import tiny_config

SPECIAL = {"bos": 1, "eos": 4, "pad": 0}
# fp32 logits of two implementations of the same function differ by rounding only; measured max 2e-7.
LOGIT_TOLERANCE = 1e-5


@pytest.mark.parametrize("members", [1, 3])
def test_exported_member_has_equal_logits_in_hugging_face_gpt2(tmp_path, members):
    config = ModelConfig(n_layer=2, n_embd=32, n_head=4)
    model = StackedGPT(config, vocab_size=11, n_positions=16, members=members)
    for i in range(members):
        model.init_member(i, seed=i)
    ids = torch.randint(0, 11, (members, 4, 13))
    labels = ids.clone()
    labels[:, :, :6] = -100
    for i in range(members):
        export_member(model, i, tmp_path / f"m{i}", SPECIAL)
        hf = GPT2LMHeadModel.from_pretrained(tmp_path / f"m{i}")
        with torch.no_grad():
            ours = model.logits(ids)[i]
            theirs = hf(input_ids=ids[i]).logits
            assert torch.allclose(ours, theirs, atol=LOGIT_TOLERANCE, rtol=0)
            assert torch.allclose(model(ids, labels)[i], hf(input_ids=ids[i], labels=labels[i]).loss, atol=1e-6)


def test_initialisation_depends_on_the_seed_only():
    config = ModelConfig(n_layer=1, n_embd=16, n_head=2)
    stack = StackedGPT(config, 9, 8, members=3)
    for i, seed in enumerate((5, 6, 5)):
        stack.init_member(i, seed)
    short = StackedGPT(config, 9, 4, members=1)
    short.init_member(0, 6)
    a, b, c = (stack.member_state_dict(i) for i in range(3))
    assert all(torch.equal(a[k], c[k]) for k in a) and not torch.equal(a["transformer.wte.weight"], b["transformer.wte.weight"])
    alone = short.member_state_dict(0)
    assert torch.equal(alone["transformer.wpe.weight"], b["transformer.wpe.weight"][:4])  # a longer table extends it
    assert all(torch.equal(alone[k], b[k]) for k in alone if "wpe" not in k)
    std = stack.member_state_dict(0)["transformer.h.0.mlp.c_fc.weight"].std().item()
    assert abs(std - 0.02) < 0.004


@pytest.fixture(scope="module")
def three_datasets(tmp_path_factory):
    """Three cells of one grid: same size, different instruction counts (what a batched group holds)."""
    root = tmp_path_factory.mktemp("grid")
    out = []
    for rules in (3, 8, 20):
        config = RewriteConfig(alphabet="abcdef", x_len=(1, 2), y_len=(1, 2), z_len=(5, 8), num_train_rules=rules,
                               budget=240, num_test_rules=4, num_test_examples=40, num_seen_test_examples=40)
        generate_rewrite(config, root / f"d{rules}", progress=False)
        out.append(root / f"d{rules}")
    return out


def _weights(run):
    return load_file(run / "model" / "model.safetensors")


def test_batched_group_reaches_the_weights_of_its_members_trained_alone(tmp_path, three_datasets):
    configs = [tiny_config(epochs=3, seed=seed) for seed in (0, 1, 2)]
    outcomes = train_group([(d, tmp_path / f"group{i}", c) for i, (d, c) in enumerate(zip(three_datasets, configs))],
                           tmp_path / "group", progress=False)
    assert [o["ok"] for o in outcomes] == [True] * 3
    for i, (dataset, config) in enumerate(zip(three_datasets, configs)):
        train(dataset, tmp_path / f"alone{i}", config, progress=False)
        grouped, alone = _weights(tmp_path / f"group{i}"), _weights(tmp_path / f"alone{i}")
        assert grouped.keys() == alone.keys()
        for name in alone:
            if "wpe" in name:  # the group's position table is as long as its longest member needs
                grouped[name] = grouped[name][: len(alone[name])]
            # Batched and single matmuls round differently in fp32: equal to 1e-4 after 45 Adam steps.
            assert torch.allclose(grouped[name], alone[name], atol=1e-4, rtol=1e-3), (i, name)
        assert not torch.equal(_weights(tmp_path / "group0")["transformer.wte.weight"],
                               _weights(tmp_path / "group1")["transformer.wte.weight"])
    assert not (tmp_path / "group" / "checkpoint").exists()


def test_members_differing_in_more_than_data_and_seed_are_refused(tmp_path, three_datasets):
    runs = [(three_datasets[0], tmp_path / "a", tiny_config()), (three_datasets[1], tmp_path / "b", tiny_config(lr=1e-2))]
    with pytest.raises(ConfigError, match="differ in lr"):
        train_group(runs, tmp_path / "g", progress=False)
    wider = tiny_config(model=ModelConfig(n_layer=1, n_embd=64, n_head=2))
    with pytest.raises(ConfigError, match="model.n_embd"):
        train_group([runs[0], (three_datasets[1], tmp_path / "b", wider)], tmp_path / "g", progress=False)
    assert not any((tmp_path / name).exists() for name in ("a", "b", "g"))


def test_a_member_whose_loss_is_not_finite_fails_alone(tmp_path, three_datasets, monkeypatch):
    original = StackedGPT.init_member

    def poisoned(self, member, seed):  # bad weights for the member of seed 13 only
        original(self, member, seed)
        if seed == 13:
            with torch.no_grad():
                self.wte[member].fill_(float("nan"))

    monkeypatch.setattr(StackedGPT, "init_member", poisoned)
    configs = [tiny_config(seed=0), tiny_config(seed=13), tiny_config(seed=2)]
    outcomes = train_group([(d, tmp_path / f"r{i}", c) for i, (d, c) in enumerate(zip(three_datasets, configs))],
                           tmp_path / "g", progress=False)
    assert outcomes[1]["ok"] is False and "nan" in outcomes[1]["error"]
    assert json.loads((tmp_path / "r1" / "failed.json").read_text())["error"] == outcomes[1]["error"]
    assert not (tmp_path / "r1" / "model").exists()
    for i in (0, 2):
        assert outcomes[i]["ok"] and np.isfinite(outcomes[i]["summary"]["final_loss"])
        assert (tmp_path / f"r{i}" / "model" / "model.safetensors").is_file()


GROUP_SCRIPT = """
import sys
from pathlib import Path
from divlab.train import TrainConfig
from divlab.models.gpt import ModelConfig
from divlab.train.loop import train_group
datasets, out = sys.argv[1:4], Path(sys.argv[4])
config = dict(model=ModelConfig(n_layer=1, n_embd=32, n_head=2), batch_size=16, lr=3e-3, epochs=12, threads=1,
              checkpoint_seconds=0, eval_every=10, eval_examples=20)
runs = [(d, out / f"cell{i}", TrainConfig(**config, seed=i)) for i, d in enumerate(datasets)]
train_group(runs, out / "group", progress=False)
"""


def _group_process(datasets, out):
    return subprocess.Popen([sys.executable, "-c", GROUP_SCRIPT, *map(str, datasets), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_batched_group_resumes_to_the_uninterrupted_weights(tmp_path, three_datasets):
    straight = _group_process(three_datasets, tmp_path / "straight")
    assert straight.wait(timeout=300) == 0, straight.stderr.read()
    process = _group_process(three_datasets, tmp_path / "killed")
    state = tmp_path / "killed" / "group" / "checkpoint" / "trainer_state.pt"
    deadline = time.time() + 120
    while time.time() < deadline and not state.exists():
        time.sleep(0.05)
    time.sleep(0.3)
    process.kill()
    assert process.wait(timeout=60) != 0
    assert not (tmp_path / "killed" / "cell0" / "model").exists(), "the run finished before it was killed"
    again = _group_process(three_datasets, tmp_path / "killed")
    assert again.wait(timeout=300) == 0, again.stderr.read()
    for i in range(3):
        a, b = _weights(tmp_path / "straight" / f"cell{i}"), _weights(tmp_path / "killed" / f"cell{i}")
        assert all(torch.equal(a[name], b[name]) for name in a), i
        # The logged losses and learning curve match the uninterrupted run's, each step once.
        assert _logged(tmp_path / "killed" / f"cell{i}") == _logged(tmp_path / "straight" / f"cell{i}")


def _logged(run):
    rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
    return [(r["step"], r.get("loss"), r.get("unseen_accuracy"), r.get("seen_accuracy")) for r in rows]
