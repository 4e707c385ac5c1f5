"""The instruction-count threshold I*: a logistic fit of accuracy against log10(I), with a bootstrap interval.

accuracy(I) = 1 / (1 + exp(-(log10 I - log10 I*) / width)). Fitted by least squares over a fine grid (two
parameters, a few hundred points: a grid is exact enough and never fails to converge); the interval comes
from refitting on cells resampled with replacement.
"""

from __future__ import annotations

import numpy as np

CENTERS = 400
WIDTHS = np.geomspace(0.01, 2.0, 60)


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(center, width) of the logistic in log10 I that best fits accuracies y at x = log10 I (least squares)."""
    centers = np.linspace(x.min() - 0.5, x.max() + 0.5, CENTERS)
    z = (x[None, None, :] - centers[:, None, None]) / WIDTHS[None, :, None]
    predicted = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
    errors = ((predicted - y[None, None, :]) ** 2).sum(axis=2)
    i, j = np.unravel_index(np.argmin(errors), errors.shape)
    return float(centers[i]), float(WIDTHS[j])


def fit_threshold(instructions, accuracies, bootstrap: int = 500, seed: int = 0) -> dict | None:
    """{'threshold', 'low', 'high', 'width'} in instructions, or None when accuracy never crosses 0.5."""
    x = np.log10(np.asarray(instructions, dtype=float))
    y = np.asarray(accuracies, dtype=float)
    if len(x) < 3 or not (y.min() < 0.5 < y.max()):
        return None
    center, width = fit_logistic(x, y)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(bootstrap):
        pick = rng.integers(0, len(x), size=len(x))
        if y[pick].min() < 0.5 < y[pick].max():
            samples.append(fit_logistic(x[pick], y[pick])[0])
    low, high = (np.percentile(samples, [2.5, 97.5]) if samples else (center, center))
    return {"threshold": 10**center, "low": 10 ** float(low), "high": 10 ** float(high), "width_decades": width,
            "bootstrap_samples": len(samples)}
