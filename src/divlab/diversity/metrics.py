"""Diversity measures of a set of texts: counts, lexical measures, the Vendi Score, pairwise similarity,
near-duplicate clusters and how well one set covers another.

The Vendi Score (Friedman & Dieng, 2023) is written here, a few lines over a kernel's eigenvalues: the
`vendi-score` package (0.0.3) ignores its order `q` and has a broken integer division. With unit-norm
feature rows X (n x d) and the cosine kernel K = X X^T, the eigenvalues of K / n equal those of the
d x d matrix X^T X / n, so the score costs one small eigendecomposition whichever side is smaller.
"""

from __future__ import annotations

import zlib

import numpy as np

from divlab.errors import ConfigError


def unit_rows(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.where(norms > 0, norms, 1.0)


def kernel_eigenvalues(features: np.ndarray) -> np.ndarray:
    """Eigenvalues of K / n for the cosine kernel of the rows (they sum to 1)."""
    x = unit_rows(features)
    n, d = x.shape
    gram = (x.T @ x) if d < n else (x @ x.T)
    values = np.linalg.eigvalsh(gram / n)
    return np.clip(values, 0.0, None)


def vendi_from_eigenvalues(values: np.ndarray, q: float = 1.0) -> float:
    """exp of the order-q Rényi entropy of a kernel's eigenvalues (normalized to sum 1): 1 for identical
    items, n for orthogonal ones. q = 1 is the Shannon case (the usual score); q = inf counts the dominant
    mode only."""
    if q < 0:
        raise ConfigError("q", q, "the order of the Vendi Score must be >= 0")
    values = np.asarray(values, dtype=np.float64)
    values = values[values > 1e-12]
    values = values / values.sum()
    if q == 1.0:
        entropy = -float(np.sum(values * np.log(values)))
    elif np.isinf(q):
        entropy = -float(np.log(values.max()))
    else:
        entropy = float(np.log(np.sum(values**q)) / (1.0 - q))
    return float(np.exp(entropy))


def vendi_score(features: np.ndarray, q: float = 1.0) -> float:
    """The Vendi Score of feature rows under the cosine kernel."""
    if len(features) == 0:
        raise ConfigError("texts", 0, "the Vendi Score of an empty set is undefined")
    return vendi_from_eigenvalues(kernel_eigenvalues(features), q)


def ngram_features(texts: list[str], n: tuple[int, int] = (1, 3), analyzer: str = "char"):
    """Sparse counts of n-grams (characters, or words) per text: scikit-learn's CountVectorizer."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(analyzer=analyzer, ngram_range=n, lowercase=False,
                                 token_pattern=r"(?u)\b\w+\b" if analyzer == "word" else None)
    return vectorizer.fit_transform(texts)


def ngram_vendi(texts: list[str], n: tuple[int, int] = (1, 3), analyzer: str = "char", q: float = 1.0) -> float:
    """The Vendi Score with the cosine kernel over n-gram counts."""
    features = ngram_features(texts, n, analyzer).astype(np.float64)
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1))).ravel()
    features = features.multiply(1.0 / np.where(norms > 0, norms, 1.0)[:, None]).tocsr()
    kernel = (features @ features.T).toarray()
    return vendi_from_eigenvalues(np.linalg.eigvalsh(kernel / len(texts)), q)


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct word n-grams over all word n-grams (Li et al., 2016); 0 when there are none."""
    grams, total = set(), 0
    for text in texts:
        words = text.split()
        for i in range(len(words) - n + 1):
            grams.add(tuple(words[i:i + n]))
            total += 1
    return len(grams) / total if total else 0.0


def compression_ratio(texts: list[str]) -> float:
    """Raw bytes over zlib-compressed bytes of the texts joined: higher = more repetitive."""
    raw = "\n".join(texts).encode("utf-8")
    return len(raw) / max(1, len(zlib.compress(raw, 9)))


def _quantiles(values: np.ndarray) -> dict:
    return {f"q{int(q * 100):02d}": float(np.quantile(values, q)) for q in (0.05, 0.25, 0.5, 0.75, 0.95)}


def similarity_stats(features: np.ndarray) -> dict:
    """Mean and quantiles of the pairwise cosine similarity (each unordered pair once)."""
    x = unit_rows(features)
    if len(x) < 2:
        return {"pairs": 0}
    sims = (x @ x.T)[np.triu_indices(len(x), k=1)]
    return {"pairs": int(len(sims)), "mean": float(sims.mean()), **_quantiles(sims)}


def near_duplicate_clusters(features: np.ndarray, threshold: float) -> int:
    """Clusters of items linked by cosine similarity >= threshold (single linkage, union-find)."""
    x = unit_rows(features)
    parent = list(range(len(x)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sims = x @ x.T
    for i, j in zip(*np.nonzero(np.triu(sims >= threshold, k=1))):
        parent[root(int(i))] = root(int(j))
    return len({root(i) for i in range(len(x))})


def coverage(train: np.ndarray, test: np.ndarray, threshold: float) -> dict:
    """How close each test item lies to its nearest training item (cosine similarity, higher = closer)."""
    nearest = (unit_rows(test) @ unit_rows(train).T).max(axis=1)
    return {
        "direction": "cosine similarity of each test prompt to its nearest training item; higher = closer",
        "threshold": threshold,
        "share_at_or_above_threshold": float((nearest >= threshold - 1e-9).mean()),
        "mean": float(nearest.mean()),
        **_quantiles(nearest),
        "nearest": nearest.round(4).tolist(),
    }
