"""The diversity map: a seeded UMAP gives the same coordinates twice, PCA still works, an item shared by
several sets is one point with all its sets in the hover, every set has its own colour, benchmarks are drawn
last (on top), the legend stays off the axes, and a missing umap-learn is refused with the pip command.

UMAP runs in this module only (numba compiles its functions once per machine into its disk cache: ~15-40 s
the first time, a few seconds after); the other diversity tests draw with PCA."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest

from divlab.diversity.maps import (MIN_UMAP_POINTS, MapData, draw_map, map_figure, merge_items, project,
                                   require_projection)
from divlab.errors import DivlabError


def _clusters(n_per: int = 100, seed: int = 0) -> np.ndarray:
    """Three clusters of unit vectors in 32 dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 32)) * 3
    rows = np.concatenate([c + rng.normal(size=(n_per, 32)) for c in centres]).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_umap_is_deterministic_for_a_seed_and_keeps_clusters_apart():
    pytest.importorskip("umap")
    vectors = _clusters()
    first, method = project(vectors, seed=3)
    again, _ = project(vectors, seed=3)
    assert method == "UMAP" and first.shape == (300, 2)
    np.testing.assert_array_equal(first, again)
    # The clusters stay apart: each point's nearest neighbour in 2-D lies in its own cluster.
    distance = np.linalg.norm(first[:, None] - first[None], axis=2) + np.eye(300) * 1e9
    assert (distance.argmin(axis=1) // 100 == np.arange(300) // 100).mean() > 0.95


def test_pca_still_works_and_tiny_sets_use_it():
    vectors = _clusters(20)
    points, method = project(vectors, projection="pca")
    assert method == "PCA" and points.shape == (60, 2)
    np.testing.assert_array_equal(points, project(vectors, projection="pca")[0])
    few, method = project(vectors[:MIN_UMAP_POINTS - 1], projection="umap")
    assert method.startswith("PCA") and few.shape == (MIN_UMAP_POINTS - 1, 2)
    with pytest.raises(DivlabError, match="choose one of umap, pca"):
        project(vectors, projection="tsne")


def test_a_missing_umap_is_refused_with_the_pip_command(monkeypatch, tmp_path):
    from divlab.diversity import measure_diversity

    monkeypatch.setitem(sys.modules, "umap", None)  # `import umap` now raises ImportError
    with pytest.raises(DivlabError, match=r"pip install 'divlab\[diversity\]'.*--projection pca"):
        require_projection("umap", MIN_UMAP_POINTS)
    require_projection("umap", MIN_UMAP_POINTS - 1)  # PCA would draw it anyway
    require_projection("pca", 10_000)
    data = tmp_path / "many.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"task {i}"}) + "\n" for i in range(80)))
    with pytest.raises(DivlabError, match="umap-learn"):  # refused before anything is embedded or written
        measure_diversity([str(data)], tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


def _three_sets():
    """Sets a and b share 40 items; c is a benchmark that shares one item with a."""
    rng = np.random.default_rng(1)
    texts = {"a": [f"shared {i}" for i in range(40)] + [f"only a {i}" for i in range(30)] + ["leaked"],
             "b": [f"shared {i}" for i in range(40)] + [f"only b {i}" for i in range(30)],
             "c": [f"bench {i}" for i in range(20)] + ["leaked"]}
    table = {t: rng.normal(size=8).astype(np.float32) for chunk in texts.values() for t in chunk}
    vectors = {name: np.stack([table[t] for t in chunk]) for name, chunk in texts.items()}
    return texts, vectors


def test_shared_items_are_one_point_with_all_their_sets_in_the_hover(tmp_path):
    texts, vectors = _three_sets()
    stacked, items, members = merge_items(texts, vectors)
    assert len(items) == len(set(items)) == 40 + 30 + 30 + 20 + 1
    points, method = project(stacked, projection="pca")
    data = draw_map(points, items, members, ["a", "b"], ["c"], method, tmp_path / "map.png", tmp_path / "map.html",
                    tmp_path / "panels.png")
    page = (tmp_path / "map.html").read_text()
    titles = re.findall(r'data-sets="([^"]*)"><title>([^<]*)</title>', page)
    assert len(titles) == len(items)  # one circle per distinct item
    hover = {title.split(": ", 1)[1]: (sets.split("|"), title.split(": ", 1)[0]) for sets, title in titles}
    assert hover["shared 7"] == (["a", "b"], "a, b") and hover["only b 3"] == (["b"], "b")
    assert hover["leaked"] == (["a", "c"], "a, c")
    # Benchmark points come last in the page, so they lie on top of the others.
    roles = [data.role(items.index(title.split(": ", 1)[1])) for _, title in titles]
    assert roles[-21:] == ["c"] * 21 and "c" not in roles[:-21]
    for name in ("map.png", "panels.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_every_set_has_its_colour_benchmarks_on_top_and_the_legend_off_the_axes():
    from matplotlib.colors import to_hex

    texts = {f"set{i}": [f"item {i} {j}" for j in range(30)] for i in range(7)}
    texts["set1"] += texts["set0"][:10]  # some sharing
    texts["bench1"], texts["bench2"] = [f"b1 {j}" for j in range(20)], [f"b2 {j}" for j in range(20)]
    rng = np.random.default_rng(2)
    vectors = {name: rng.normal(size=(len(chunk), 8)) for name, chunk in texts.items()}
    stacked, items, members = merge_items(texts, vectors)
    points, method = project(stacked, projection="pca")
    data = MapData(points, items, members, [f"set{i}" for i in range(7)], ["bench1", "bench2"])
    assert len(set(data.color.values())) == 9  # one distinct colour per set and benchmark
    fig = map_figure(data, method)
    ax = fig.axes[0]
    collections = {c.get_label().split(" (")[0]: c for c in ax.collections if not c.get_label().startswith("_")}
    for name in data.sets + data.benchmarks:
        assert to_hex(collections[name].get_facecolor()[0]) == data.color[name]
    assert "in several sets" in collections and len(collections["set1"].get_offsets()) == 30  # its own 30
    top = max(c.get_zorder() for name, c in collections.items() if name not in data.benchmarks)
    assert min(collections[b].get_zorder() for b in data.benchmarks) > top
    assert collections["bench1"].get_paths()[0] != collections["set0"].get_paths()[0]  # its own marker
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    assert not legend.overlaps(ax.get_window_extent())


def test_measuring_draws_a_seeded_umap_map_with_panels(tmp_path, monkeypatch):
    pytest.importorskip("umap")
    from divlab.diversity import measure_diversity

    monkeypatch.setenv("DIVLAB_CACHE_DIR", str(tmp_path / "cache"))
    topics = ["sort a list", "reverse a string", "parse a date", "write a poem about", "plan a trip to"]
    for name, start in (("one", 0), ("two", 30)):  # 30 items in common
        rows = [{"instruction": f"{topics[i % 5]} number {i}"} for i in range(start, start + 60)]
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    inputs = [str(tmp_path / "one.jsonl"), str(tmp_path / "two.jsonl")]
    maps = [measure_diversity(inputs, tmp_path / out, progress=False, panels=True)["map"] for out in ("m1", "m2")]
    assert maps[0] == maps[1]
    assert maps[0]["method"] == "UMAP" and maps[0]["points"] == 90 and maps[0]["shared_points"] == 30
    assert (tmp_path / "m1" / "map.html").read_text() == (tmp_path / "m2" / "map.html").read_text()
    assert 'src="map-panels.png"' in (tmp_path / "m1" / "index.html").read_text()
    assert (tmp_path / "m1" / "map-panels.png").stat().st_size > 10_000
    assert measure_diversity(inputs, tmp_path / "p", progress=False, projection="pca")["map"]["method"] == "PCA"
