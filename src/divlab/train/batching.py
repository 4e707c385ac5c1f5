"""Tokenized splits and length-bucketed batches.

Examples are right-padded only up to the longest example of their batch, and batches are cut from
length-sorted windows of a shuffled epoch, so padding is near zero. Because attention is causal and the
padding sits after every real token, no attention mask is needed: real tokens never see padding, and the
fused `is_causal` attention kernel is used. Padding positions carry no labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from divlab.data import read_rows
from divlab.models.tokenizer import CharTokenizer
from divlab.seeding import stream
from divlab.errors import DataError

IGNORE = -100
WINDOW_BATCHES = 64  # batches per length-sorted window: large enough to bucket well, small enough to mix


@dataclass
class TokenizedSplit:
    ids: np.ndarray  # flat int16 token ids of all sequences
    offsets: np.ndarray  # sequence i is ids[offsets[i]:offsets[i + 1]]
    answer_starts: np.ndarray  # index (within the sequence) of the first answer token
    has_op: np.ndarray
    rule_ids: np.ndarray
    breakdowns: dict[str, np.ndarray]  # integer row field the task breaks accuracy down by -> its values
    rows: list[dict] | None = None

    def __len__(self) -> int:
        return len(self.answer_starts)

    @cached_property
    def lengths(self) -> np.ndarray:
        # Cached: read on every training step (collate, token counts); recomputing is O(examples).
        return np.diff(self.offsets)

    def sequence(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]


def breakdown_fields(directory) -> tuple[str, ...]:
    """The row fields the dataset's task breaks accuracy down by (its TaskSpec says; rewrite's occurrences
    for a task this process does not know)."""
    from divlab.data.directory import read_manifest
    from divlab.tasks import find_task

    task = find_task(read_manifest(directory).get("task"))
    return task.breakdowns if task is not None else ("occurrences",)


def tokenize_split(directory, split: str, tokenizer: CharTokenizer, keep_rows: bool = False, limit: int = 0) -> TokenizedSplit:
    rows = []
    fields = breakdown_fields(directory)
    for row in read_rows(directory, split, fields=("x", "y", "z", "target", "has_op", *fields)):
        rows.append(row)
        if limit and len(rows) >= limit:
            break
    return tokenize_rows(rows, tokenizer, keep_rows, fields)


def tokenize_rows(rows: list[dict], tokenizer: CharTokenizer, keep_rows: bool = False,
                  breakdowns: tuple[str, ...] = ("occurrences",)) -> TokenizedSplit:
    """All rows in one vectorized pass: one joined string, one code-point lookup."""
    # Control characters stand for the specials while joining; the alphabet never holds them.
    texts = [f"\x03{r['x']}\x00{r['y']}\x00{r['z']}\x01{r['target']}\x02" for r in rows]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    table_size = max(256, int(codes.max()) + 1 if len(codes) else 256)
    lookup = np.full(table_size, -1, dtype=np.int16)
    for ch in tokenizer.alphabet:
        if ord(ch) < table_size:
            lookup[ord(ch)] = tokenizer.index[ch]
    lookup[0], lookup[1], lookup[2], lookup[3] = tokenizer.sep_id, tokenizer.ans_id, tokenizer.eos_id, tokenizer.bos_id
    ids = lookup[codes]
    if len(ids) and ids.min() < 0:
        bad = chr(int(codes[np.flatnonzero(ids < 0)[0]]))
        raise DataError(f"character {bad!r} is not in the tokenizer's alphabet {tokenizer.alphabet!r}")
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    answer_starts = np.fromiter((len(r["x"]) + len(r["y"]) + len(r["z"]) + 4 for r in rows), dtype=np.int64, count=len(rows))
    return TokenizedSplit(
        ids=ids,
        offsets=offsets,
        answer_starts=answer_starts,
        has_op=np.fromiter((r["has_op"] for r in rows), dtype=bool, count=len(rows)),
        rule_ids=np.fromiter((r["rule_id"] for r in rows), dtype=np.int64, count=len(rows)),
        breakdowns={name: np.fromiter((r[name] for r in rows), dtype=np.int64, count=len(rows)) for name in breakdowns},
        rows=rows if keep_rows else None,
    )


def plan_batches(lengths: np.ndarray, batch_size: int, batch_tokens: int, order: np.ndarray) -> list[np.ndarray]:
    """Cut `order` (a permutation) into batches of similar length: sort each window, then cut."""
    window = (batch_size if not batch_tokens else max(1, batch_tokens // max(1, int(lengths.mean())))) * WINDOW_BATCHES
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        if not batch_tokens:
            batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
            continue
        begin, longest = 0, 0
        for i, example in enumerate(chunk.tolist()):
            longest = max(longest, int(lengths[example]))
            if (i - begin + 1) * longest > batch_tokens and i > begin:
                batches.append(chunk[begin:i])
                begin, longest = i, int(lengths[example])
        batches.append(chunk[begin:])
    return batches


def epoch_batches(split: TokenizedSplit, batch_size: int, batch_tokens: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The batches of one epoch: a pure function of (seed, epoch), so a resumed run replays them exactly."""
    rng = stream(seed, "train-order", epoch)
    order = rng.permutation(len(split))
    batches = plan_batches(split.lengths, batch_size, batch_tokens, order)
    permutation = rng.permutation(len(batches))
    return [batches[i] for i in permutation]


def collate(split: TokenizedSplit, indices: np.ndarray, pad_id: int, with_labels: bool = True, width: int = 0):
    """(input_ids, labels) tensors, right-padded to the batch's longest sequence (or `width`); labels only on
    answers. Vectorized: one gather of the flat token array, no per-example Python loop."""
    indices = np.asarray(indices, dtype=np.int64)
    lengths = split.lengths[indices]
    width = max(width, int(lengths.max()) if len(indices) else 1)
    columns = np.arange(width)
    real = columns[None, :] < lengths[:, None]
    flat = np.minimum(split.offsets[indices][:, None] + columns[None, :], max(len(split.ids) - 1, 0))
    ids = np.where(real, split.ids[flat], pad_id).astype(np.int64)
    if not with_labels:
        return torch.from_numpy(ids), None
    answer = real & (columns[None, :] >= split.answer_starts[indices][:, None])
    labels = np.where(answer, ids, IGNORE)
    return torch.from_numpy(ids), torch.from_numpy(labels)


def collate_stacked(splits: list[TokenizedSplit], batches: list[np.ndarray], pad_id: int):
    """One batch per member, stacked into [members, rows, width]. Members' batches may differ in length and
    size: the shorter ones get padding columns and rows of padding without labels, which change nothing
    (attention is causal and padding sits after every real token; rows without labels add no loss)."""
    width = max(int(split.lengths[batch].max()) for split, batch in zip(splits, batches))
    rows = max(len(batch) for batch in batches)
    ids = torch.full((len(splits), rows, width), pad_id, dtype=torch.int64)
    labels = torch.full((len(splits), rows, width), IGNORE, dtype=torch.int64)
    for i, (split, batch) in enumerate(zip(splits, batches)):
        member_ids, member_labels = collate(split, batch, pad_id, width=width)
        ids[i, : len(batch)] = member_ids
        labels[i, : len(batch)] = member_labels
    return ids, labels
