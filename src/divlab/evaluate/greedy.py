"""Real greedy decoding with a KV cache (transformers' `generate`), for samples and for checking the
teacher-forced shortcut."""

from __future__ import annotations

import numpy as np
import torch

from divlab.models.tokenizer import CharTokenizer
from divlab.train.batching import TokenizedSplit


@torch.no_grad()
def greedy_decode(model, tokenizer: CharTokenizer, split: TokenizedSplit, indices=None, batch_size: int = 64) -> list[list[int]]:
    """Generated answer token ids (up to and including <eos>, if produced) for each chosen example.

    Prompts are grouped by length so that a batch needs no padding and no attention mask.
    """
    device = next(model.parameters()).device
    model.eval()
    indices = np.arange(len(split)) if indices is None else np.asarray(indices)
    prompt_lengths = split.answer_starts[indices]
    outputs: dict[int, list[int]] = {}
    context = model.config.n_positions
    for length in np.unique(prompt_lengths):
        group = indices[prompt_lengths == length]
        for start in range(0, len(group), batch_size):
            chosen = group[start : start + batch_size]
            prompts = torch.tensor(np.stack([split.sequence(i)[:length] for i in chosen]), dtype=torch.long, device=device)
            generated = model.generate(
                input_ids=prompts,
                attention_mask=torch.ones_like(prompts),
                max_new_tokens=int(context - length),
                do_sample=False,
                use_cache=True,
                eos_token_id=tokenizer.eos_id,
                pad_token_id=tokenizer.pad_id,
            )[:, length:].cpu().tolist()
            for i, ids in zip(chosen.tolist(), generated):
                if tokenizer.eos_id in ids:
                    ids = ids[: ids.index(tokenizer.eos_id) + 1]
                outputs[i] = ids
    return [outputs[i] for i in indices.tolist()]
