"""Matplotlib for every figure divlab draws (reports, diversity maps): the file backend, imported only when a
figure is drawn, and one way to save."""

from __future__ import annotations


def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def save_figure(fig, path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt().close(fig)
