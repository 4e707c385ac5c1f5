"""What every report builder shares: the figure helpers, number formatting, grouping of store rows, the one
shape builders return, the three-valued verdict, and the paper's reference numbers (data files)."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from divlab.plotting import plt, save_figure  # noqa: F401 - the report builders' figure helpers


@dataclass
class Section:
    """What a builder returns: the summary table, paragraphs (plain text) under the figure, further
    tables and the per-cell table."""

    headers: list
    table: list
    notes: list[str] = field(default_factory=list)
    extra_tables: list[tuple[str, list, list]] = field(default_factory=list)
    cells: tuple[list, list] | None = None
    threshold: dict | None = None
    extra_figures: list[tuple[str, str]] = field(default_factory=list)  # (file name beside the main figure, caption)


SHOWN, NOT_SHOWN, NOT_ENOUGH = "shown", "not shown", "not enough data"


@dataclass(frozen=True)
class Verdict:
    """Whether a run shows the paper's effect: shown, not shown, or not enough data to judge."""

    status: str
    reason: str
    lead: str | None = None  # replaces the standard opening (a study has no paper effect to show)

    def sentence(self) -> str:
        lead = self.lead or {SHOWN: "This run shows the paper's effect", NOT_SHOWN: "This run does NOT show the paper's effect",
                NOT_ENOUGH: "This run cannot be judged yet"}[self.status]
        return f"{lead}: {self.reason}."


def shown_if(condition: bool, reason: str) -> Verdict:
    return Verdict(SHOWN if condition else NOT_SHOWN, reason)


def not_enough(reason: str) -> Verdict:
    return Verdict(NOT_ENOUGH, reason)


def reference(name: str) -> dict:
    """The paper's numbers for experiment `name` (report/reference/<name>.toml)."""
    path = resources.files("divlab").joinpath("report", "reference", f"{name}.toml")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def accuracy_axes(ax, x_label: str, y_label: str) -> None:
    """The axes every accuracy figure shares: log x, accuracy from 0 to 1 with a margin."""
    ax.set_xscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_ylim(-0.03, 1.03)


def mean_sd(values) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation of the values that are not None (sd None for fewer than two)."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return float(np.mean(values)), (float(np.std(values, ddof=1)) if len(values) > 1 else None)


def fmt(mean, sd=None) -> str:
    if mean is None:
        return "–"
    return f"{mean:.3f}" + (f" ± {sd:.3f}" if sd is not None else "")


def pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def group(rows, *axes) -> dict[tuple, list]:
    """(axis labels...) -> rows, in grid order."""
    out = defaultdict(list)
    for row in rows:
        out[tuple(row["point"].get(a) for a in axes)].append(row)
    return out


def diversity_of(row, key: str = "vendi_ngram"):
    """A cell's measured training-set diversity (None for cells run before it was measured)."""
    return (row["result"].get("diversity") or {}).get(key)


def metric(rows, split: str, key: str) -> list:
    return [r["result"][split][key] for r in rows]


def mean_by(rows, *axes, split: str = "unseen", key: str = "accuracy") -> dict[tuple, float]:
    """(axis labels...) -> mean of result[split][key] over the rows holding a value."""
    out = {}
    for labels, members in group(rows, *axes).items():
        mean, _ = mean_sd(metric(members, split, key))
        if mean is not None:
            out[labels] = mean
    return out
