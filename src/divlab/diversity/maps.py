"""The paper's Fig. 1 for any data: every input embedded and projected to 2-D together (UMAP by default,
seeded; PCA on request), drawn so that one can read it:

- an item that several sets share is one point (its memberships in the hover of map.html); a point in one
  set has that set's colour (a qualitative palette), a point in several sets is grey;
- every set gets a density outline (a kernel density contour around ~80 % of its items, shared ones
  included), so overlapping sets stay visible where their points coincide;
- benchmarks (the `--against` inputs) are drawn last, on top, in their own markers and dashed outlines;
- the legend sits outside the axes; `panels=True` adds small multiples, one panel per set (map-panels.png).

UMAP runs on exact cosine nearest neighbours (computed here, so pynndescent's compile is skipped) with a
fixed seed, which makes it deterministic (single-threaded). Its numba functions are compiled to numba's disk
cache: the first map on a machine compiles for ~15-40 s, later ones start in seconds."""

from __future__ import annotations

import html
import warnings

import numpy as np

from divlab.atomic import atomic_write_text
from divlab.errors import DivlabError
from divlab.plotting import plt

PROJECTIONS = ("umap", "pca")
N_NEIGHBORS = 15
MIN_DIST = 0.1
# Below this many points a 15-neighbour graph is nearly complete and UMAP says nothing PCA does not: PCA.
MIN_UMAP_POINTS = 50
OUTLINE_MASS = 0.8  # each set's outline encloses about this share of its points
UMAP_MISSING = ("the UMAP map needs umap-learn: pip install 'divlab[diversity]' (or pip install umap-learn), "
                "or choose --projection pca (or --no-map)")
SHARED_COLOR = "#9a9a9a"
BENCH_MARKERS = ("*", "D", "^", "s", "P", "X", "v", "p")


def umap_available() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def require_projection(projection: str, n_points: int) -> None:
    """Refuse, before anything is embedded, a projection that cannot run here."""
    if projection not in PROJECTIONS:
        raise DivlabError(f"projection={projection!r}: choose one of {', '.join(PROJECTIONS)}")
    if projection == "umap" and n_points >= MIN_UMAP_POINTS and not umap_available():
        raise DivlabError(UMAP_MISSING)


def _pca(vectors: np.ndarray) -> np.ndarray:
    centered = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centered, full_matrices=False)
    points = centered @ components[:2].T
    # SVD signs are arbitrary: fix them so the same data gives the same picture on any BLAS.
    signs = np.sign(points[np.abs(points).argmax(axis=0), range(points.shape[1])])
    return points * np.where(signs == 0, 1, signs)


def _cosine_knn(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours by cosine distance, each point first in its own list (as UMAP expects)."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    indices = np.empty((len(unit), k), dtype=np.int64)
    distances = np.empty((len(unit), k), dtype=np.float32)
    for start in range(0, len(unit), 1024):
        similarity = unit[start:start + 1024] @ unit.T
        rows = np.arange(similarity.shape[0])
        similarity[rows, start + rows] = np.inf  # itself first, whatever ties
        order = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        indices[start:start + 1024] = order
        distances[start:start + 1024] = np.maximum(1.0 - np.take_along_axis(similarity, order, axis=1), 0.0)
    distances[:, 0] = 0.0
    return indices, distances


def _cache_umap_compiles() -> None:
    """Put UMAP's numba functions in numba's disk cache (umap-learn compiles them afresh in every process)."""
    try:
        from numba.core.registry import CPUDispatcher
        import umap.layouts
        import umap.umap_
    except ImportError:
        return
    for module in (umap.umap_, umap.layouts):
        for function in vars(module).values():
            if isinstance(function, CPUDispatcher):
                try:
                    function.enable_caching()
                except Exception:  # noqa: BLE001 - a read-only install only loses the speed-up
                    pass


def project(vectors: np.ndarray, seed: int = 0, projection: str = "umap") -> tuple[np.ndarray, str]:
    """(n x 2 coordinates, method): UMAP (cosine, seeded: the same coordinates for the same seed) or PCA.
    Fewer than MIN_UMAP_POINTS points are projected by PCA, and the method says so."""
    require_projection(projection, len(vectors))
    vectors = np.asarray(vectors, dtype=np.float32)
    if projection == "pca" or len(vectors) < MIN_UMAP_POINTS:
        return _pca(vectors), "PCA" if projection == "pca" else f"PCA (UMAP needs {MIN_UMAP_POINTS}+ points)"
    _cache_umap_compiles()
    import umap

    indices, distances = _cosine_knn(vectors, N_NEIGHBORS)
    reducer = umap.UMAP(n_components=2, n_neighbors=N_NEIGHBORS, min_dist=MIN_DIST, metric="cosine",
                        random_state=seed, n_jobs=1, precomputed_knn=(indices, distances, None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n_jobs overridden by the seed, no search index: both wanted
        points = reducer.fit_transform(vectors)
    return np.asarray(points, dtype=np.float64), "UMAP"


BENCH_COLORS = ("#111111", "#9467bd", "#8c564b", "#17becf")


def palette(n: int, skip=BENCH_COLORS) -> list[str]:
    """n distinct qualitative colours (tab10, then Dark2 and Set1), none grey nor one kept for benchmarks."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    colors = [to_hex(c) for name in ("tab10", "Dark2", "Set1") for c in colormaps[name].colors]
    colors = [c for c in dict.fromkeys(colors) if c not in ("#7f7f7f", "#666666", "#999999", *skip)]
    return [colors[i % len(colors)] for i in range(n)]


class MapData:
    """The points of a map: one per distinct item, with the sets it belongs to, and a colour per set."""

    def __init__(self, points: np.ndarray, texts: list[str], members: list[list[str]], sets: list[str],
                 benchmarks: list[str]):
        self.points, self.texts, self.members = np.asarray(points, dtype=float), texts, members
        self.sets, self.benchmarks = [s for s in sets if s not in benchmarks], list(benchmarks)
        self.color = dict(zip(self.sets, palette(len(self.sets))))
        self.color.update((b, BENCH_COLORS[i] if i < len(BENCH_COLORS) else palette(len(self.sets) + i + 1)[-1])
                          for i, b in enumerate(self.benchmarks))
        self.marker = {b: BENCH_MARKERS[i % len(BENCH_MARKERS)] for i, b in enumerate(self.benchmarks)}

    def role(self, i: int) -> str:
        """The name a point is drawn under: its first benchmark, else its set, else "shared"."""
        bench = [m for m in self.members[i] if m in self.marker]
        if bench:
            return bench[0]
        return self.members[i][0] if len(self.members[i]) == 1 else "shared"

    def in_set(self, name: str) -> np.ndarray:
        return np.array([name in m for m in self.members], dtype=bool)


def merge_items(texts_by_set: dict[str, list[str]], vectors_by_set: dict[str, np.ndarray]):
    """(vectors, texts, members): every distinct text once, in order of first appearance, with the sets
    holding it."""
    where: dict[str, int] = {}
    texts, members, rows = [], [], []
    for name, chunk in texts_by_set.items():
        for text, vector in zip(chunk, vectors_by_set[name]):
            if text not in where:
                where[text] = len(texts)
                texts.append(text), members.append([]), rows.append(vector)
            if name not in members[where[text]]:
                members[where[text]].append(name)
    return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32), texts, members


def _outline(ax, points: np.ndarray, color: str, dashed: bool) -> None:
    """A kernel density contour enclosing about OUTLINE_MASS of the points."""
    if len(points) < 5 or np.linalg.matrix_rank(points - points.mean(axis=0)) < 2:
        return
    from scipy.stats import gaussian_kde

    kde = gaussian_kde(points.T)
    level = np.quantile(kde(points.T), 1.0 - OUTLINE_MASS)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    pad_x, pad_y = 0.15 * (x1 - x0 or 1.0), 0.15 * (y1 - y0 or 1.0)
    gx, gy = np.meshgrid(np.linspace(x0 - pad_x, x1 + pad_x, 120), np.linspace(y0 - pad_y, y1 + pad_y, 120))
    density = kde(np.vstack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contour(gx, gy, density, levels=[level], colors=[color], linewidths=2.0 if dashed else 1.6,
               linestyles="--" if dashed else "-", zorder=4)


def _draw(ax, data: MapData, only: str | None = None, outlines: bool = True, scale: float = 1.0) -> list:
    """Scatter every point on AX (with ONLY, the points outside that set in light grey as context), then the
    outlines, then the benchmarks on top. Returns the legend handles."""
    roles = [data.role(i) for i in range(len(data.texts))]
    roles_arr = np.array(roles, dtype=object)
    handles = []
    if only is None:
        for role in [*data.sets, "shared"]:
            mask = roles_arr == role
            if role == "shared":
                if not mask.any():
                    continue
                color, label = SHARED_COLOR, f"in several sets ({int(mask.sum())})"
            else:
                color, label = data.color[role], f"{role} ({int(data.in_set(role).sum())})"
            handles.append(ax.scatter(data.points[mask, 0], data.points[mask, 1], s=9, alpha=0.65, color=color,
                                      linewidths=0, label=label, zorder=2))
    else:
        mine = data.in_set(only) & ~np.isin(roles_arr, data.benchmarks)
        ax.scatter(data.points[~mine, 0], data.points[~mine, 1], s=6, color="#dddddd", linewidths=0, zorder=1)
        handles.append(ax.scatter(data.points[mine, 0], data.points[mine, 1], s=9, alpha=0.75,
                                  color=data.color[only], linewidths=0, label=only, zorder=2))
    if outlines:
        for name in (data.sets if only is None else [only]):
            _outline(ax, data.points[data.in_set(name)], data.color[name], dashed=False)
        for name in data.benchmarks:
            _outline(ax, data.points[data.in_set(name)], data.color[name], dashed=True)
    for z, name in enumerate(data.benchmarks):  # last, on top
        mask = roles_arr == name
        size = (40 if data.marker[name] == "*" else 16) * scale
        handles.append(ax.scatter(data.points[mask, 0], data.points[mask, 1], s=size, alpha=0.9,
                                  marker=data.marker[name], color=data.color[name], edgecolors="white",
                                  linewidths=0.3, label=f"{name} ({int(data.in_set(name).sum())}, benchmark)",
                                  zorder=10 + z))
    ax.set_xticks([]), ax.set_yticks([])
    return handles


def map_figure(data: MapData, method: str):
    """The main map: every point once, outlines per set, benchmarks on top; the legend right of the axes."""
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(9.5, 6.5))
    handles = _draw(ax, data)
    ax.set_title(f"instructions in 2-D ({method} of sentence embeddings)\n"
                 "outlines: where ~80 % of each set lies (dashed: benchmarks)", fontsize=10)
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.74, 0.93), fontsize=8, markerscale=1.6,
               frameon=False)
    fig.subplots_adjust(left=0.02, right=0.73, top=0.9, bottom=0.02)
    return fig


def panels_figure(data: MapData, method: str):
    """Small multiples: one panel per set (its points in colour, the others grey), benchmarks on top."""
    pyplot = plt()
    sets = data.sets or data.benchmarks
    columns = 2 if len(sets) in (2, 4) else min(len(sets), 3)
    rows = -(-len(sets) // columns)
    fig, axes = pyplot.subplots(rows, columns, figsize=(4.2 * columns, 3.8 * rows + 0.6), squeeze=False)
    for ax, name in zip(axes.ravel(), sets):
        handles = _draw(ax, data, only=name if name in data.sets else None, scale=0.6)
        ax.set_title(f"{name} ({int(data.in_set(name).sum())})", fontsize=9, color=data.color[name])
    for ax in axes.ravel()[len(sets):]:
        ax.axis("off")
    bench = [h for h in handles if any(h.get_label().startswith(f"{b} (") for b in data.benchmarks)]
    if bench:
        fig.legend(handles=bench, loc="lower center", ncol=len(bench), fontsize=8, frameon=False)
    fig.suptitle(f"each set on its own ({method}); grey: the other sets", fontsize=10)
    fig.tight_layout(rect=(0, 0.05 if bench else 0, 1, 0.96))
    return fig


def html_map(data: MapData, method: str) -> str:
    """An SVG with a <title> per point: hover shows the sets holding it and its text, in any browser,
    offline. Training points first, benchmarks last (on top)."""
    if len(data.points):
        low, high = data.points.min(axis=0), data.points.max(axis=0)
        scaled = (data.points - low) / np.where(high > low, high - low, 1.0) * [760, 560] + [20, 20]
    else:
        scaled = data.points
    roles = [data.role(i) for i in range(len(data.texts))]
    order = sorted(range(len(roles)), key=lambda i: (roles[i] in data.marker, data.benchmarks.index(roles[i])
                                                     if roles[i] in data.marker else 0))
    circles = []
    for i in order:
        role, (x, y) = roles[i], scaled[i]
        color = SHARED_COLOR if role == "shared" else data.color[role]
        bench = role in data.marker
        stroke = ' stroke="#000" stroke-width="0.8"' if bench else ""
        circles.append(
            f'<circle cx="{x:.1f}" cy="{600 - y:.1f}" r="{4.5 if bench else 3}" fill="{color}" '
            f'fill-opacity="{0.9 if bench else 0.6}"{stroke} data-sets="{html.escape("|".join(data.members[i]))}">'
            f"<title>{html.escape(', '.join(data.members[i]))}: {html.escape(data.texts[i][:300])}</title></circle>")
    legend = "".join(f'<span style="color:{data.color[n]}">{"◆" if n in data.marker else "●"} {html.escape(n)}'
                     f'{" (benchmark)" if n in data.marker else ""}</span> ' for n in data.sets + data.benchmarks)
    if any(r == "shared" for r in roles):
        legend += f'<span style="color:{SHARED_COLOR}">● in several sets</span>'
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>divlab diversity map</title>"
            f"</head><body style='font-family:sans-serif'><h2>Instructions in 2-D ({html.escape(method)})</h2>"
            f"<p>{legend}</p><p>Hover a point to read its instruction and the sets that hold it (an item in "
            f"several sets is one point).</p>"
            f"<svg width='800' height='600' style='border:1px solid #ccc'>{''.join(circles)}</svg></body></html>")


def draw_map(points: np.ndarray, texts: list[str], members: list[list[str]], sets: list[str],
             benchmarks: list[str], method: str, png, page, panels=None) -> MapData:
    """map.png (and map-panels.png when `panels` names a file) and the hover page map.html."""
    data = MapData(points, texts, members, sets, benchmarks)
    fig = map_figure(data, method)
    fig.savefig(png, dpi=120)
    plt().close(fig)
    if panels is not None:
        fig = panels_figure(data, method)
        fig.savefig(panels, dpi=110)
        plt().close(fig)
    atomic_write_text(page, html_map(data, method))
    return data
