"""The paper's Fig. 1 for any data: every input embedded, projected to 2-D together (UMAP when installed,
PCA otherwise), one colour per dataset; a PNG and an HTML view where hovering a point shows its text."""

from __future__ import annotations

import html

import numpy as np

from divlab.atomic import atomic_write_text
from divlab.plotting import plt, save_figure


def project(vectors: np.ndarray, seed: int = 0) -> tuple[np.ndarray, str]:
    """(n x 2 coordinates, method): UMAP (cosine metric, seeded) when umap-learn is installed, else PCA."""
    try:
        import umap
    except ImportError:
        centered = vectors - vectors.mean(axis=0)
        _, _, components = np.linalg.svd(centered, full_matrices=False)
        return centered @ components[:2].T, "PCA"
    reducer = umap.UMAP(n_components=2, metric="cosine", random_state=seed, n_neighbors=min(15, len(vectors) - 1))
    return reducer.fit_transform(vectors), "UMAP"


def draw_map(points: np.ndarray, labels: list[str], texts: list[str], method: str, png, page) -> None:
    names = list(dict.fromkeys(labels))
    colors = [f"C{i % 10}" for i in range(len(names))]
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7.5, 6))
    labels_arr = np.array(labels)
    for name, color in zip(names, colors):
        mask = labels_arr == name
        ax.scatter(points[mask, 0], points[mask, 1], s=8, alpha=0.6, color=color, label=f"{name} ({mask.sum()})")
    ax.set_title(f"instructions in 2-D ({method} of sentence embeddings)")
    ax.set_xticks([]), ax.set_yticks([])
    ax.legend(fontsize=8, markerscale=2)
    save_figure(fig, png)
    # An SVG with a <title> per point: hover shows the text, in any browser, offline.
    low, high = points.min(axis=0), points.max(axis=0)
    scaled = (points - low) / np.where(high > low, high - low, 1.0) * [760, 560] + [20, 20]
    hex_colors = [pyplot.matplotlib.colors.to_hex(c) for c in colors]
    color_of = dict(zip(names, hex_colors))
    circles = "".join(
        f'<circle cx="{x:.1f}" cy="{600 - y:.1f}" r="3" fill="{color_of[label]}" fill-opacity="0.6">'
        f"<title>{html.escape(label)}: {html.escape(text[:300])}</title></circle>"
        for (x, y), label, text in zip(scaled, labels, texts))
    legend = "".join(f'<span style="color:{color_of[n]}">● {html.escape(n)}</span> ' for n in names)
    atomic_write_text(page, f"<!doctype html><html><head><meta charset='utf-8'><title>divlab diversity map</title>"
                            f"</head><body style='font-family:sans-serif'><h2>Instructions in 2-D ({method})</h2>"
                            f"<p>{legend}</p><p>Hover a point to read its instruction.</p>"
                            f"<svg width='800' height='600' style='border:1px solid #ccc'>{circles}</svg></body></html>")
