"""`divlab diversity`: measure, compare and draw instruction sets, into DIR/diversity.json and an HTML page."""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import divlab
from divlab.atomic import atomic_write_json, atomic_write_text
import divlab.diversity.metrics as metrics
from divlab.diversity.backends import resolve as resolve_backend
from divlab.diversity.embed import DEFAULT_MODEL, Embedder
from divlab.diversity.inputs import InstructionSet, load_instruction_set
from divlab.diversity.measures import LEXICAL, MEASURES, measure
from divlab.errors import ConfigError
from divlab.seeding import stream


def subsample(items: InstructionSet, n: int, seed: int) -> list[str]:
    """At most n texts, drawn without replacement by a seeded permutation named after the set (so a set
    keeps its sample whatever else is compared with it)."""
    texts = list(items.texts)
    if len(texts) <= n:
        return texts
    order = stream(seed, "diversity", items.source).permutation(len(texts))[:n]
    return [texts[i] for i in sorted(order)]


def _measure(items: InstructionSet, texts: list[str], vectors: np.ndarray, n_compare: int, threshold: float,
             seed: int, extra: tuple[str, ...] = ()) -> dict:
    analyzer = ("char", (1, 3)) if items.kind == "rules" else ("word", (1, 2))
    # The Vendi Scores of all sets are compared at one n: a seeded random n of each sample (not its first n:
    # files are often ordered, and nested rule sets share their first rules).
    compared = np.sort(stream(seed, "diversity-compare", items.source).permutation(len(texts))[:n_compare])
    return {
        "kind": items.kind, "source": items.source, "size": len(items.texts), "records_skipped": items.skipped,
        "distinct_exact": len(set(items.texts)), "sample": len(texts),
        "near_duplicate_clusters": metrics.near_duplicate_clusters(vectors, threshold),
        **{name: measure(name, texts) for name in (*LEXICAL, *extra)},
        "vendi_embedding": metrics.vendi_score(vectors[compared]),
        "vendi_ngram": metrics.ngram_vendi([texts[i] for i in compared], analyzer[1], analyzer[0]),
        "vendi_ngram_features": f"{analyzer[0]} {analyzer[1][0]}-{analyzer[1][1]}-grams",
        "similarity": metrics.similarity_stats(vectors),
    }


def _check_arguments(datasets, measures, sample, duplicate_threshold, coverage_threshold, embed_backend) -> None:
    """Everything refused before any dataset is read or embedded."""
    resolve_backend(embed_backend)  # unknown, or named and not installed
    for name in measures:
        MEASURES.get(name)  # an unknown measure fails before anything is embedded
    if not datasets:
        raise ConfigError("datasets", datasets, "name at least one dataset")
    if sample < 2:
        raise ConfigError("sample", sample, "must be >= 2")
    for name, value in (("duplicate_threshold", duplicate_threshold), ("coverage_threshold", coverage_threshold)):
        if not -1.0 <= value <= 1.0:
            raise ConfigError(name, value, "a cosine similarity lies in [-1, 1]")


def _draw(texts: dict, vectors: dict, set_names: list, test_names: list, out: Path, seed: int, projection: str,
          panels: bool) -> dict:
    """The map (PNG, hover HTML, optional panels); returns what diversity.json says of it."""
    from divlab.diversity.maps import MIN_DIST, N_NEIGHBORS, draw_map, merge_items, project

    stacked, items, members = merge_items(texts, vectors)
    points, method = project(stacked, seed, projection)
    draw_map(points, items, members, set_names, test_names, method,
             out / "map.png", out / "map.html", out / "map-panels.png" if panels else None)
    return {"method": method, "projection": projection, "seed": seed, "points": len(items),
            "items": sum(len(chunk) for chunk in texts.values()),
            "shared_points": sum(len(m) > 1 for m in members),
            **({"n_neighbors": N_NEIGHBORS, "min_dist": MIN_DIST} if method == "UMAP" else {}),
            "png": "map.png", "html": "map.html", **({"panels": "map-panels.png"} if panels else {})}


def measure_diversity(datasets: list[str], out_dir, against: list[str] = (), *, sample: int = 1000, seed: int = 0,
                      model: str = DEFAULT_MODEL, field: str | None = None, duplicate_threshold: float = 0.9,
                      coverage_threshold: float = 0.8, draw: bool = True, progress: bool = True,
                      measures: tuple[str, ...] = (), projection: str = "umap", panels: bool = False,
                      embed_backend: str = "auto") -> dict:
    """Measure every dataset (and every `against` benchmark), the coverage of each benchmark by each
    dataset, and draw the map. `measures`: further registered measures (names or "module:function").
    `projection`: "umap" (seeded) or "pca"; `panels`: also one map panel per set (map-panels.png).
    `embed_backend`: "auto" (the fastest installed), "torch" or "onnx" (divlab.diversity.backends).
    Returns what DIR/diversity.json holds."""
    _check_arguments(datasets, measures, sample, duplicate_threshold, coverage_threshold, embed_backend)
    started = time.perf_counter()
    sets = [load_instruction_set(spec, field) for spec in datasets]
    tests = [load_instruction_set(spec, field) for spec in against]
    names = [s.name for s in sets + tests]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise ConfigError("datasets", duplicate, "two inputs share this name; give files with different names")
    texts = {s.name: subsample(s, sample, seed) for s in sets + tests}
    n_compare = min(len(texts[s.name]) for s in sets + tests)
    if draw:  # a projection that cannot run is refused before minutes of embedding
        from divlab.diversity.maps import require_projection

        require_projection(projection, len({t for chunk in texts.values() for t in chunk}))
    embedder = Embedder(model, backend=embed_backend)
    embed_started = time.perf_counter()
    try:
        vectors = {name: embedder.embed(chunk) for name, chunk in
                   tqdm(texts.items(), desc="embedding", unit="set", disable=not progress)}
    finally:
        embedder.close()
    embedding = {**embedder.details, "texts": sum(len(chunk) for chunk in texts.values()),
                 "embed_s": round(time.perf_counter() - embed_started, 3)}  # cache reads included
    result = {
        "divlab_version": divlab.__version__, "model": model, "embedding": embedding, "seed": seed, "sample": sample,
        "compared_at_n": n_compare,
        "note": (f"Vendi Scores are computed on a seeded random {n_compare} of every set's sample (the smallest "
                 f"sample), since the score grows with n; similarity, clusters and lexical measures use each "
                 f"set's own sample (up to {sample}). Similarity is cosine, higher = closer."),
        "datasets": {s.name: _measure(s, texts[s.name], vectors[s.name], n_compare, duplicate_threshold, seed,
                                      tuple(measures))
                     for s in sets + tests},
        "coverage": {t.name: {s.name: metrics.coverage(vectors[s.name], vectors[t.name], coverage_threshold)
                              for s in sets} for t in tests},
        "duplicate_threshold": duplicate_threshold, "coverage_threshold": coverage_threshold,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if draw:
        result["map"] = _draw(texts, vectors, [s.name for s in sets], [t.name for t in tests], out, seed, projection,
                              panels)
    result["wall_s"] = time.perf_counter() - started
    atomic_write_json(out / "diversity.json", result, sort_keys=False)
    atomic_write_text(out / "index.html", _page(result))
    return result


def _page(result: dict) -> str:
    columns = ["size", "distinct_exact", "near_duplicate_clusters", "sample", "distinct_1", "distinct_2",
               "compression_ratio", "vendi_embedding", "vendi_ngram"]
    cell = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    rows = "".join("<tr><td>" + html.escape(name) + "</td>" + "".join(f"<td>{cell(m[c])}</td>" for c in columns)
                   + f"<td>{cell(m['similarity'].get('mean', float('nan')))}</td></tr>"
                   for name, m in result["datasets"].items())
    head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in ["set", *columns, "mean pairwise similarity"])
    coverage = "".join(
        f"<tr><td>{html.escape(test)}</td><td>{html.escape(train)}</td><td>{c['mean']:.3f}</td><td>{c['q50']:.3f}</td>"
        f"<td>{c['share_at_or_above_threshold']:.3f}</td></tr>"
        for test, by_train in result["coverage"].items() for train, c in by_train.items())
    cover = (f"<h2>Coverage of the benchmarks</h2><p>For each test prompt, the cosine similarity to its nearest "
             f"training item (higher = closer), and the share at or above {result['coverage_threshold']}.</p>"
             f"<table><tr><th>benchmark</th><th>training set</th><th>mean</th><th>median</th><th>share ≥ threshold</th></tr>"
             f"{coverage}</table>") if coverage else ""
    picture = '<p><a href="map.html"><img src="map.png" alt="map"></a></p>' if "map" in result else ""
    if "panels" in result.get("map", {}):
        picture += '<p><img src="map-panels.png" alt="one panel per set"></p>'
    style = "body{font-family:sans-serif;max-width:1200px;margin:2em auto}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}table{border-collapse:collapse}"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>divlab diversity</title><style>{style}</style></head>"
            f"<body><h1>Instruction diversity</h1><p>Embeddings: {html.escape(result['model'])} "
            f"({html.escape(result['embedding']['backend'])} backend). "
            f"{html.escape(result['note'])}</p><table><tr>{head}</tr>{rows}</table>{cover}{picture}</body></html>")
