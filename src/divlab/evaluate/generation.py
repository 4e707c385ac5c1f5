"""Exact match of a pretrained (fine-tuned) LLM's greedy text answers on a prompt/completion split.

For the from-scratch GPT-2 one teacher-forced pass gives the greedy answer (evaluate/exact_match.py); a
pretrained tokenizer's merges can make the same text several token sequences, so here the model really
decodes, and the decoded text is compared with the completion (surrounding whitespace ignored).
"""

from __future__ import annotations

from pathlib import Path

from tqdm.auto import tqdm


def evaluate_generation(model_dir: str | Path, dataset_dir: str | Path, split: str, prompt_format: str = "auto",
                        limit: int = 0, batch_size: int = 16, device: str = "cpu", progress: bool = False) -> dict:
    import torch

    from divlab.models.prompts import render_prompt
    from divlab.models.pretrained import load_causal_lm

    from divlab.data.reader import iter_jsonl, verify_file

    path = Path(dataset_dir) / f"{split}.jsonl"
    verify_file(Path(dataset_dir), path)
    rows = [row for _, row in iter_jsonl(path)]
    rows = rows[:limit] if limit else rows
    model, tokenizer = load_causal_lm(str(model_dir), device)
    model.eval()
    tokenizer.padding_side = "left"
    correct = []
    for start in tqdm(range(0, len(rows), batch_size), desc=f"eval {split}", disable=not progress):
        batch = rows[start:start + batch_size]
        prompts = [render_prompt(tokenizer, r["prompt"], prompt_format) for r in batch]
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        longest = max(len(tokenizer(r["completion"], add_special_tokens=False)["input_ids"]) for r in batch)
        with torch.no_grad():
            out = model.generate(**encoded, max_new_tokens=longest + 4, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        texts = tokenizer.batch_decode(out[:, encoded["input_ids"].shape[1]:], skip_special_tokens=True)
        correct += [text.strip() == r["completion"].strip() for text, r in zip(texts, batch)]
    return summarize(rows, correct)


def summarize(rows: list[dict], correct: list[bool]) -> dict:
    def rate(selected):
        return sum(selected) / len(selected) if selected else None

    has_op = [c for c, r in zip(correct, rows) if r.get("has_op")]
    no_op = [c for c, r in zip(correct, rows) if not r.get("has_op")]
    return {"examples": len(rows), "accuracy": rate(correct), "has_op_accuracy": rate(has_op),
            "no_op_accuracy": rate(no_op)}
