"""Training throughput: divlab's trainer vs the field's standard way (transformers' Trainer +
GPT2LMHeadModel + a padding collator), same model config, same data, same batch size, same steps.

Prints real (non-padding) tokens/s of each, the ratio, and divlab's model FLOP/s against an fp32 matmul
peak measured in the same run. Targets on the 2-core CPU: ratio >= 3x and >= 50 % of the peak.

    python benchmarks/train_throughput.py [--shapes paper small] [--steps 12] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from divlab.hf import quiet_transformers
from divlab.models.gpt import MODEL_PRESETS, ModelConfig, build_model
from divlab.models.tokenizer import CharTokenizer
from divlab.tasks.rewrite import RewriteConfig, generate_rewrite
from divlab.train import TrainConfig, train
from divlab.train.batching import IGNORE, tokenize_split


def matmul_peak(threads: int, size: int = 1024, repeats: int = 5) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        best = min(best, (time.perf_counter() - start) / 10)
    return 2 * size**3 / best


def flops_per_token(model_config: ModelConfig, vocab: int, mean_length: float) -> float:
    """Training FLOPs per token: 6 x parameters touched by a token's matmuls + causal attention."""
    d, layers = model_config.n_embd, model_config.n_layer
    matmul_params = layers * 12 * d * d + d * vocab
    attention = layers * 6 * mean_length * d  # QK^T and AV, forward + backward, half masked
    return 6 * matmul_params + attention


def run_hf_trainer(dataset_dir: Path, model_config: ModelConfig, context: int, steps: int, batch_size: int, threads: int, out: Path) -> tuple[float, int]:
    """The standard route: Trainer, GPT2LMHeadModel, DataCollatorForSeq2Seq padding (with attention masks)."""
    import datasets
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    torch.set_num_threads(threads)
    tokenizer = CharTokenizer(__import__("json").loads((dataset_dir / "manifest.json").read_text())["config"]["alphabet"])
    split = tokenize_split(dataset_dir, "train", tokenizer)
    records = []
    for i in range(len(split)):
        ids = split.sequence(i).astype(np.int64).tolist()
        start = int(split.answer_starts[i])
        records.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": [IGNORE] * start + ids[start:]})
    dataset = datasets.Dataset.from_list(records)
    model = build_model(model_config, tokenizer.vocab_size, context, {"bos": tokenizer.bos_id, "eos": tokenizer.eos_id, "pad": tokenizer.pad_id})

    class Pad:  # DataCollatorForSeq2Seq needs a tokenizer only for its pad id and padding side
        pad_token_id = tokenizer.pad_id
        padding_side = "right"

        def pad(self, features, **kwargs):
            longest = max(len(f["input_ids"]) for f in features)
            return {
                "input_ids": torch.tensor([f["input_ids"] + [tokenizer.pad_id] * (longest - len(f["input_ids"])) for f in features]),
                "attention_mask": torch.tensor([f["attention_mask"] + [0] * (longest - len(f["attention_mask"])) for f in features]),
            }

    collator = DataCollatorForSeq2Seq(Pad(), label_pad_token_id=IGNORE, padding="longest")
    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=batch_size, max_steps=steps, learning_rate=1e-3,
        lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.01, logging_steps=10**9, save_strategy="no",
        report_to=[], use_cpu=True, bf16=False, fp16=False, dataloader_num_workers=0, disable_tqdm=True, seed=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    result = trainer.train()
    # Real tokens: the Trainer samples uniformly, so a batch holds batch_size x mean length of them.
    real_tokens = int(steps * batch_size * split.lengths.mean())
    return result.metrics["train_runtime"], real_tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", nargs="+", default=["paper", "small"], choices=list(MODEL_PRESETS))
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--examples", type=int, default=4000)
    args = parser.parse_args()
    quiet_transformers()

    peak = matmul_peak(args.threads)
    print(f"fp32 matmul peak, {args.threads} threads: {peak / 1e9:.1f} GFLOP/s")
    tmp = Path(tempfile.mkdtemp(prefix="divlab-bench-"))
    try:
        # E1-paper strings (|x|, |y| in 1..20, |z| = 50): sequences of ~75-135 tokens.
        data_config = RewriteConfig(num_train_rules=500, budget=args.examples, num_test_rules=10,
                                    num_test_examples=10, num_seen_test_examples=10)
        dataset_dir = tmp / "data"
        generate_rewrite(data_config, dataset_dir, progress=False)
        for shape in args.shapes:
            model_config = ModelConfig.from_preset(shape)
            config = TrainConfig(model=model_config, batch_size=args.batch_size, max_steps=args.steps, threads=args.threads,
                                 checkpoint_seconds=1e9, log_every=10**6)
            # One warm-up step outside the timing for each route, then the timed run.
            train(dataset_dir, tmp / f"warm-{shape}", TrainConfig(**{**config.__dict__, "max_steps": 1}), progress=False)
            summary = train(dataset_dir, tmp / f"divlab-{shape}", config, progress=False)
            ours = summary["tokens_seen"] / summary["elapsed_s"]
            mean_length = summary["tokens_seen"] / (args.steps * args.batch_size)
            flops = flops_per_token(model_config, 31, mean_length)
            run_hf_trainer(dataset_dir, model_config, summary["context"], 1, args.batch_size, args.threads, tmp / "hf-warm")
            seconds, real_tokens = run_hf_trainer(dataset_dir, model_config, summary["context"], args.steps, args.batch_size, args.threads, tmp / f"hf-{shape}")
            theirs = real_tokens / seconds
            print(
                f"[{shape} {model_config.n_layer}x{model_config.n_embd}x{model_config.n_head}, batch {args.batch_size}, {args.steps} steps] "
                f"divlab {ours:,.0f} tok/s (padding {100 * summary['padding_fraction']:.1f} %) | "
                f"HF Trainer {theirs:,.0f} tok/s | ratio {ours / theirs:.2f}x | "
                f"divlab {ours * flops / 1e9:.1f} GFLOP/s = {100 * ours * flops / peak:.0f} % of matmul peak"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
