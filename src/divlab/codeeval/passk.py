"""pass@k with the unbiased estimator of Chen et al. (2021): 1 - C(n-c, k) / C(n, k), per task, averaged.

Computed as a product so that large n stays exact in floating point; undefined (omitted) where n < k.
"""

from __future__ import annotations

import numpy as np
from divlab.errors import ConfigError


def pass_at_k(n: int, c: int, k: int) -> float:
    if not 0 <= c <= n:
        raise ConfigError("correct", c, f"must lie in [0, {n}] (the samples of the task)")
    if k < 1 or n < k:
        raise ConfigError("k", k, f"pass@{k} needs at least {k} samples per task, got {n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def summarize(counts: dict[str, tuple[int, int]], ks: tuple[int, ...] = (1, 10, 100)) -> dict[str, float]:
    """`counts`: task -> (samples, correct). pass@k over tasks, for each k every task has enough samples for."""
    out = {}
    if not counts:
        return out
    for k in ks:
        if all(n >= k for n, _ in counts.values()):
            out[f"pass@{k}"] = float(np.mean([pass_at_k(n, c, k) for n, c in counts.values()]))
    return out
