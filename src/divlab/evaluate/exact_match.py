"""Exact match in one teacher-forced forward pass.

Greedy decoding reproduces the target exactly iff, feeding the target itself, the argmax at every answer
position (including the one that must produce <eos>) equals the target token: by induction, each greedy
step then sees exactly the teacher-forced prefix. So one batched forward pass gives greedy exact match,
with no autoregressive loop (tests check the equality against real greedy decoding).
"""

from __future__ import annotations

import numpy as np
import torch

from divlab.train.batching import TokenizedSplit, collate, plan_batches


@torch.no_grad()
def teacher_forced_correct(model, split: TokenizedSplit, pad_id: int, batch_tokens: int = 16384, device=None, progress=None) -> np.ndarray:
    """Boolean per example: does greedy decoding reproduce `target <eos>` exactly?"""
    device = device or next(model.parameters()).device
    model.eval()
    correct = np.zeros(len(split), dtype=bool)
    order = np.arange(len(split))
    for indices in plan_batches(split.lengths, 1, batch_tokens, order):
        input_ids, labels = collate(split, indices, pad_id)
        input_ids, labels = input_ids.to(device), labels.to(device)
        logits = model(input_ids=input_ids).logits
        predicted = logits[:, :-1].argmax(dim=-1)
        wanted = labels[:, 1:]
        answer = wanted != -100
        ok = ((predicted == wanted) | ~answer).all(dim=1)
        correct[indices] = ok.cpu().numpy()
        if progress is not None:
            progress.update(len(indices))
    return correct
