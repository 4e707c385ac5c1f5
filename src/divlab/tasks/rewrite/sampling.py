"""Vectorized samplers for rules, example allocations and inputs.

Pure-Python per-character sampling cannot produce the paper's 10^6-example budget in seconds, so random
characters are drawn in bulk with numpy and turned into strings with one `bytes.translate`; the per-example
work left in Python is a few C-level string operations (slice, join, replace, count).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from divlab.seeding import stream
from divlab.errors import ConfigError
from divlab.tasks.rewrite.config import FamilySpec, IntRange, feasible_base_lengths
from divlab.tasks.rewrite.families import BUILDERS


class CharacterSource:
    """Maps integer codes 0..A-1 to the alphabet's characters, in bulk."""

    def __init__(self, alphabet: str):
        self.alphabet = alphabet
        self.size = len(alphabet)
        self._ascii = all(ord(ch) < 128 for ch in alphabet)
        if self._ascii:
            self._table = bytes(alphabet, "ascii") + bytes(256 - self.size)
        else:
            self._map = {i: ch for i, ch in enumerate(alphabet)}

    def text(self, rng: np.random.Generator, count: int) -> str:
        return self.decode(rng.integers(0, self.size, size=count, dtype=np.uint8).tobytes())

    def decode(self, raw: bytes) -> str:
        if self._ascii:
            return raw.translate(self._table).decode("ascii")
        return raw.decode("latin-1").translate(self._map)

    def encode_padded(self, strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Strings as a (n, max length) uint8 code matrix (zero padded) and their lengths."""
        lookup = {ch: i for i, ch in enumerate(self.alphabet)}
        lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
        matrix = np.zeros((len(strings), max(1, int(lengths.max()) if len(strings) else 1)), dtype=np.uint8)
        for row, s in enumerate(strings):
            matrix[row, : len(s)] = [lookup[ch] for ch in s]
        return matrix, lengths


@dataclass(frozen=True)
class RuleSet:
    xs: list[str]
    ys: list[str]
    families: list[str]
    ks: list[int]

    def __len__(self) -> int:
        return len(self.xs)

    def append(self, x: str, y: str, family: str, k: int) -> None:
        self.xs.append(x)
        self.ys.append(y)
        self.families.append(family)
        self.ks.append(k)


def _draw_shapes(rng, families: tuple[FamilySpec, ...], weights: np.ndarray, size: int, x_len: IntRange,
                 y_len: IntRange) -> tuple[np.ndarray, ...]:
    """(family index, k, x base length, y base length) of `size` candidate rules."""
    which = rng.choice(len(families), size=size, p=weights) if len(families) > 1 else np.zeros(size, dtype=np.int64)
    ks = np.empty(size, dtype=np.int64)
    x_bases = np.empty(size, dtype=np.int64)
    y_bases = np.empty(size, dtype=np.int64)
    for index, spec in enumerate(families):
        mask = which == index
        n = int(mask.sum())
        if not n:
            continue
        k = rng.integers(spec.k[0], spec.k[1] + 1, size=n)
        ks[mask] = k
        # Base lengths uniform over those that give a pattern length inside the configured range.
        for side, target in ((x_len, x_bases), (y_len, y_bases)):
            bounds = np.array([(0, 0)] + [feasible_base_lengths(v, side) or (0, 0) for v in range(1, spec.k[1] + 1)], dtype=np.int64)
            lows, highs = bounds[k, 0], bounds[k, 1]
            target[mask] = lows + np.floor(rng.random(n) * (highs - lows + 1)).astype(np.int64)
    return which, ks, x_bases, y_bases


def sample_rules(
    seed: int,
    split: str,
    count: int,
    families: tuple[FamilySpec, ...],
    alphabet: str,
    x_len: IntRange,
    y_len: IntRange,
    allow_identity: bool,
    forbidden_x: frozenset[str] = frozenset(),
    forbidden_pairs: frozenset[tuple[str, str]] = frozenset(),
    field: str = "num_train_rules",
) -> RuleSet:
    """`count` distinct (x, y) rules, drawn in chunks from the stream (seed, 'rules', split, chunk).

    Sequential rejection keeps a prefix property: the first n rules do not depend on `count`, so the
    instruction sets of a sweep over I are nested and test sets are shared across grid points.
    """
    chars = CharacterSource(alphabet)
    weights = np.array([spec.weight for spec in families], dtype=float)
    weights /= weights.sum()
    rules = RuleSet([], [], [], [])
    seen: set[tuple[str, str]] = set()
    chunk = 0
    draws = 0
    max_draws = 64 * count + 100_000
    while len(rules) < count:
        rng = stream(seed, "rules", split, chunk)
        chunk += 1
        size = min(max(1024, 2 * (count - len(rules))), 1 << 20)
        draws += size
        which, ks, x_bases, y_bases = _draw_shapes(rng, families, weights, size, x_len, y_len)
        width_x = int(x_bases.max())
        width_y = max(int(y_bases.max()), 1)
        x_text = chars.text(rng, size * width_x)
        y_text = chars.text(rng, size * width_y)
        for i in range(size):
            family = families[which[i]].name
            k = int(ks[i])
            build = BUILDERS[family]
            x = build(x_text[i * width_x : i * width_x + x_bases[i]], k)
            y = build(y_text[i * width_y : i * width_y + y_bases[i]], k) if y_bases[i] else ""
            if (x == y and not allow_identity) or x in forbidden_x or (x, y) in forbidden_pairs or (x, y) in seen:
                continue
            seen.add((x, y))
            rules.append(x, y, family, k)
            if len(rules) == count:
                break
        if len(rules) < count and draws > max_draws:
            raise ConfigError(
                field, count,
                f"only {len(rules)} distinct rules found in {draws} draws: the {split} rule space is (nearly) exhausted",
            )
    return rules


def allocate_uniform(num_rules: int, total: int) -> np.ndarray:
    """Exactly equal examples per rule (the remainder goes one each to the first rules), as rule indices."""
    base, extra = divmod(total, num_rules)
    counts = np.full(num_rules, base, dtype=np.int64)
    counts[:extra] += 1
    return np.repeat(np.arange(num_rules, dtype=np.int64), counts)


def allocate_power(num_rules: int, total: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Each example's rule is floor(u * I) with u ~ Power(alpha), density alpha * u**(alpha - 1) (decision 8)."""
    u = rng.power(alpha, size=total)
    return np.minimum((u * num_rules).astype(np.int64), num_rules - 1)


def choose_counts(mixture: tuple[tuple[int, float], ...], size: int, rng: np.random.Generator) -> np.ndarray:
    values = np.array([count for count, _ in mixture], dtype=np.int64)
    if len(values) == 1:
        return np.full(size, values[0], dtype=np.int64)
    weights = np.array([weight for _, weight in mixture], dtype=float)
    return values[rng.choice(len(values), size=size, p=weights / weights.sum())]


def remove_occurrences(z: str, x: str, alphabet: str, rng: np.random.Generator) -> str:
    """Rewrite z so that it provably does not contain x.

    Changing the last character of the leftmost occurrence to any other letter removes it and cannot create
    an occurrence ending at or before that position, so the leftmost occurrence moves strictly right and the
    loop ends within len(z) iterations.
    """
    others = alphabet.replace(x[-1], "")
    chars = list(z)
    text = z
    while (position := text.find(x)) >= 0:
        end = position + len(x) - 1
        chars[end] = others[int(rng.integers(len(others)))]
        text = "".join(chars)
    return text


def make_inputs(
    rng: np.random.Generator,
    chars: CharacterSource,
    rule_codes: np.ndarray,
    rule_lengths: np.ndarray,
    xs: list[str],
    rule_index: np.ndarray,
    has_op: np.ndarray,
    planted: np.ndarray,
    z_len: IntRange,
) -> list[str]:
    """Inputs z: has-op rows get x planted `planted` times at random non-overlapping places in random filler;
    no-op rows are random strings with every occurrence of x removed.

    Filler characters are i.i.d., so "filler split around k copies of x" has the same distribution as "a
    random string with x written over k non-overlapping windows"; the latter is a few numpy gathers.
    `rule_codes[r]` holds x of rule r as alphabet codes (padded), `rule_lengths[r]` its length.
    """
    size = len(rule_index)
    if size == 0:
        return []
    width = z_len[1]
    lengths = rng.integers(z_len[0], z_len[1] + 1, size=size)
    codes = rng.integers(0, chars.size, size=(size, width), dtype=np.uint8)
    x_lengths = rule_lengths[rule_index]
    planted = np.where(has_op, planted, 0)
    free = lengths - planted * x_lengths  # filler characters around the planted copies
    most = int(planted.max())
    if most:
        # Stars and bars: `planted` sorted uniform cut points in 0..free; copy j starts at cut_j + j * |x|.
        cuts = np.floor(rng.random((size, most)) * (free + 1)[:, None]).astype(np.int64)
        cuts = np.where(np.arange(most)[None, :] < planted[:, None], cuts, np.iinfo(np.int64).max)
        cuts.sort(axis=1)
        x_codes = rule_codes[rule_index]
        within = np.arange(x_codes.shape[1])[None, :]
        flat = codes.reshape(-1)
        row_base = (np.arange(size, dtype=np.int64) * width)[:, None]
        for copy in range(most):
            start = cuts[:, copy] + copy * x_lengths
            write = (within < x_lengths[:, None]) & (planted > copy)[:, None]
            flat[(row_base + start[:, None] + within)[write]] = x_codes[write]
    text = chars.decode(codes.tobytes())
    starts = (np.arange(size, dtype=np.int64) * width).tolist()
    out = [text[s : s + n] for s, n in zip(starts, lengths.tolist())]
    alphabet = chars.alphabet
    for i in np.flatnonzero(~has_op).tolist():
        x = xs[rule_index[i]]
        if x in out[i]:
            out[i] = remove_occurrences(out[i], x, alphabet, rng)
    return out
