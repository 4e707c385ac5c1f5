"""LoRA fine-tuning of a pretrained causal LM on a prompt/completion dataset, through TRL's SFTTrainer.

The run directory holds `finetune.json` (what is trained, written first), `checkpoints/` (Trainer
checkpoints, resumed from when the same command runs again), `metrics.jsonl` (the Trainer's logs), then
`adapter/` (the LoRA adapter and the tokenizer; `divlab codeeval generate --model RUN/adapter` loads it
merged into its base) and `summary.json`, written last: a run is finished exactly when it exists.

Everything that can be wrong (dataset, model name, memory, settings) is checked before the directory is
created. The loss covers the completion only (TRL's `completion_only_loss` on prompt/completion rows).
On CPU, TRL's defaults that cost ~10x there (bf16, gradient checkpointing) are switched off.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from divlab.atomic import atomic_write_json
from divlab.data.directory import sha256_file
from divlab.data.reader import iter_jsonl, verify_file
from divlab.device import resolve_device
from divlab.train.curves import truncate_metrics
from divlab.finetune.config import FinetuneConfig
from divlab.machine import available_cores
from divlab.models.pretrained import ModelError, check_fits_in_memory, load_causal_lm, resolve_model
from divlab.models.prompts import PLAIN_TEMPLATE, render_prompt, uses_chat  # noqa: F401 - re-exported
from divlab.rundir import check_identity, read_identity
from divlab.errors import DivlabError

IDENTITY = "finetune.json"  # what the run directory trains: model, dataset, settings
MEMORY_FACTOR = 2.5  # fp32 weights + activations at batch 4 x 768 + adapter optimizer state, measured loosely


class FinetuneError(DivlabError):
    pass


def read_prompt_completion(dataset_dir: str | Path, split: str = "train") -> list[dict]:
    """Rows of `split.jsonl` in a mixture or E6 dataset directory, each with text prompt and completion."""
    path = Path(dataset_dir) / f"{split}.jsonl"
    if not (Path(dataset_dir) / "manifest.json").is_file():
        raise FinetuneError(f"{dataset_dir} is not a finished dataset directory (no manifest.json); "
                            f"build it with `divlab mix` or `divlab generate --task encrypted`")
    verify_file(Path(dataset_dir), path)
    rows = []
    for number, row in iter_jsonl(path):
        for name in ("prompt", "completion"):
            if not isinstance(row, dict) or not isinstance(row.get(name), str):
                raise FinetuneError(f"{path}: line {number}: field {name!r} missing or not text")
        rows.append(row)
    if not rows:
        raise FinetuneError(f"{path} holds no examples")
    return rows


def training_dataset(rows: list[dict], chat: bool):
    """A datasets.Dataset of prompt/completion rows in the form TRL masks: conversational or plain text."""
    from datasets import Dataset

    return Dataset.from_list(_training_rows(rows, chat))


def _training_rows(rows: list[dict], chat: bool) -> list[dict]:
    if chat:  # conversational prompt/completion: TRL applies the chat template and masks the prompt
        return [{"prompt": [{"role": "user", "content": r["prompt"]}],
                 "completion": [{"role": "assistant", "content": r["completion"]}]} for r in rows]
    return [{"prompt": PLAIN_TEMPLATE.format(prompt=r["prompt"]), "completion": r["completion"]} for r in rows]


def _want_8bit(config: FinetuneConfig, device: str) -> bool:
    if config.load_in_8bit == "false" or device != "cuda":
        if config.load_in_8bit == "true" and device != "cuda":
            raise FinetuneError("load_in_8bit = true needs a CUDA device (bitsandbytes)")
        return False
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        if config.load_in_8bit == "true":
            raise FinetuneError("load_in_8bit = true needs bitsandbytes: pip install bitsandbytes") from None
        return False
    return True


class _MetricsLog:
    """Appends the Trainer's log records to metrics.jsonl (a TrainerCallback, built lazily)."""

    @staticmethod
    def make(path: Path):
        from transformers import TrainerCallback

        class Callback(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kwargs):
                if not state.is_world_process_zero:  # data-parallel runs: one process writes
                    return
                with open(path, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"step": state.global_step, **(logs or {})}) + "\n")

        return Callback()


def build_trainer(model, tokenizer, train_set, checkpoints: Path, config: FinetuneConfig, device: str,
                  eight_bit: bool = False, progress: bool = True, callbacks=(), report_to=()):
    """TRL's SFTTrainer with LoRA and divlab's settings (also what the tests inspect for the loss mask)."""
    import torch
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        output_dir=str(checkpoints), per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum, learning_rate=config.lr, num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps > 0 else -1, lr_scheduler_type=config.schedule,
        warmup_steps=config.warmup_ratio, weight_decay=config.weight_decay, max_length=config.max_length,
        completion_only_loss=True, packing=False, seed=config.seed, data_seed=config.seed,
        # On CPU bf16 autocast and gradient checkpointing make training ~10x slower; on GPU bf16 when supported.
        bf16=device == "cuda" and torch.cuda.is_bf16_supported() and not eight_bit, fp16=False,
        gradient_checkpointing=False, use_cpu=device == "cpu",
        save_strategy="steps", save_steps=config.save_steps, save_total_limit=2,
        logging_steps=config.logging_steps, report_to=list(report_to), disable_tqdm=not progress,
        dataloader_num_workers=0, dataset_num_proc=None,
    )
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=list(config.target_modules) if isinstance(config.target_modules, tuple)
                      else config.target_modules, task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_set, processing_class=tokenizer,
                         peft_config=lora, callbacks=list(callbacks))
    if not progress:  # without a progress bar the Trainer prints every log record; metrics.jsonl has them
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    return trainer


def _finished(out_dir: Path, model: str, config: FinetuneConfig) -> dict | None:
    """The summary of a run already finished with these settings; another finished run is refused."""
    if not (out_dir / "summary.json").is_file():
        return None
    summary = json.loads((out_dir / "summary.json").read_text())
    if summary["config"] == config.to_dict() and summary["model"] == model:
        return summary
    raise FinetuneError(f"{out_dir} holds a finished run with other settings; use another --out")


def _check_inputs(model: str, dataset_dir: Path, out_dir: Path, config: FinetuneConfig):
    """(rows, weights, device, identity), everything checked before any model is loaded or file written."""
    rows = read_prompt_completion(dataset_dir)
    weights = resolve_model(model)
    device = resolve_device(config.device)
    if device == "cpu":
        check_fits_in_memory(weights, MEMORY_FACTOR, "LoRA fine-tuning")
    identity = {"model": model, "dataset": str(dataset_dir.resolve()), "config": config.to_dict(),
                "dataset_manifest_sha256": sha256_file(dataset_dir / "manifest.json")}
    # Checked now, written only once everything else is checked too (the first write in `finetune`).
    check_identity(out_dir, read_identity(out_dir, IDENTITY), identity, "fine-tuning run")
    return rows, weights, device, identity


def _load_base(weights: str, device: str, config: FinetuneConfig):
    """(base model, tokenizer, whether 8-bit) on the device, prepared for k-bit training when 8-bit."""
    import torch

    if device == "cpu":
        torch.set_num_threads(config.threads or available_cores())
    eight_bit = _want_8bit(config, device)
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    base, tokenizer = load_causal_lm(weights, device, dtype, load_in_8bit=eight_bit)
    if eight_bit:
        from peft import prepare_model_for_kbit_training

        base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=False)
    return base, tokenizer, eight_bit


def _save_adapter(trainer, tokenizer, model: str, adapter: Path) -> None:
    trainer.model.save_pretrained(adapter)
    tokenizer.save_pretrained(adapter)
    # PEFT names the base by the path it was loaded from (for an alias or GGUF, a cache directory); the
    # user's name (an absolute path for local files) resolves again anywhere: `load_causal_lm` converts an
    # alias or GGUF when its cache is missing.
    adapter_config = json.loads((adapter / "adapter_config.json").read_text())
    adapter_config["base_model_name_or_path"] = str(Path(model).resolve()) if Path(model).exists() else model
    atomic_write_json(adapter / "adapter_config.json", adapter_config, sort_keys=False)


def finetune(model: str, dataset_dir: str | Path, out_dir: str | Path, config: FinetuneConfig = FinetuneConfig(),
             progress: bool = True, report_to=()) -> dict:
    """Train a LoRA adapter; resume an interrupted run; return the summary (also in summary.json).
    `report_to`: handed to TRL (transformers' integrations: tensorboard, mlflow, wandb)."""
    out_dir, dataset_dir = Path(out_dir), Path(dataset_dir)
    finished = _finished(out_dir, model, config)
    if finished is not None:
        return finished
    rows, weights, device, identity = _check_inputs(model, dataset_dir, out_dir, config)

    from transformers.trainer_utils import get_last_checkpoint

    base, tokenizer, eight_bit = _load_base(weights, device, config)
    chat = uses_chat(tokenizer, config.prompt_format)
    checkpoints = out_dir / "checkpoints"
    existed = out_dir.exists()
    trainer = build_trainer(base, tokenizer, training_dataset(rows, chat), checkpoints, config, device, eight_bit,
                            progress, callbacks=[_MetricsLog.make(out_dir / "metrics.jsonl")], report_to=report_to)
    kept = len(trainer.train_dataset)
    if kept == 0:  # TRL drops rows whose completion was cut off entirely by max_length
        if not existed:  # the Trainer makes its output directory when it starts; leave nothing behind
            shutil.rmtree(out_dir, ignore_errors=True)
        raise FinetuneError(f"every example's prompt fills max_length={config.max_length} tokens, so no completion "
                            f"token is left to learn from; raise max_length")
    # Under `accelerate launch` (data parallel) every process runs this function; the main one writes.
    main_process = trainer.is_world_process_zero()
    out_dir.mkdir(parents=True, exist_ok=True)  # the first write: everything above checked the input
    resume = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if main_process:
        atomic_write_json(out_dir / IDENTITY, identity, sort_keys=False)
        # The Trainer logs again what it logged after the checkpoint it resumes from: drop those rows first.
        truncate_metrics(out_dir / "metrics.jsonl", int(Path(resume).name.rsplit("-", 1)[1]) if resume else 0)
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    elapsed = time.perf_counter() - started
    adapter = out_dir / "adapter"
    trainable, total = trainer.model.get_nb_trainable_parameters()
    summary = {
        "model": model, "weights": weights, "config": config.to_dict(), "device": device, "load_in_8bit": eight_bit,
        "prompt_format": "chat" if chat else "plain", "examples": len(rows),
        "examples_dropped_by_max_length": len(rows) - kept, "steps": trainer.state.global_step,
        "train_loss": result.training_loss, "elapsed_s": elapsed, "resumed_from": resume,
        "trainable_parameters": trainable, "parameters": total, "adapter": str(adapter),
        "processes": trainer.args.world_size,
    }
    if main_process:
        _save_adapter(trainer, tokenizer, model, adapter)
        atomic_write_json(out_dir / "summary.json", summary, sort_keys=False)
    trainer.accelerator.wait_for_everyone()
    return summary


__all__ = ["FinetuneError", "ModelError", "finetune", "read_prompt_completion", "render_prompt", "uses_chat"]
