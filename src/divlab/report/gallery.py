"""The results gallery's pages: OUT/README.md (the index: each experiment's verdict and the command) and
OUT/<name>.md per experiment, figures in OUT/<name>/figures/, every number read from OUT/<name>/results.sqlite.
`divlab report OUT` regenerates them all from the databases alone."""

from __future__ import annotations

from pathlib import Path

from divlab.atomic import atomic_write_text
from divlab.report.common import reference
from divlab.report.markdown import markdown_table, render_markdown
from divlab.report.page import Table, build_page, reproduce_command
from divlab.sweep.gallery import read_manifest
from divlab.sweep.store import DATABASE

FIGURES = "figures"


def paper_claim(name: str) -> str:
    """What the paper found in experiment NAME, in one sentence (report/reference/<name>.toml)."""
    try:
        return reference(name).get("claim", "")
    except FileNotFoundError:
        return ""


def _planned_cells(info: dict, seeds) -> int:
    """Grid points x the seeds the gallery asks for: a sweep run so far with fewer seeds is incomplete."""
    points = 1
    for values in (info.get("axes") or {}).values():
        points *= max(1, len(values))
    return points * seeds if isinstance(seeds, int) else 0


def write_gallery(out) -> Path:
    """(Re)write every page of the gallery in OUT; return the index's path."""
    out = Path(out)
    manifest = read_manifest(out)
    rows = []
    for name in manifest["experiments"]:
        run_dir = out / name
        if not (run_dir / DATABASE).is_file():
            rows.append([name, "not run yet", "–", paper_claim(name)])
            continue
        info = {"experiment": name, "preset": manifest["preset"], "seeds": manifest.get("seeds") or "the preset's",
                "overrides": manifest.get("overrides", {})}
        command = (f"{manifest['command']}\n# this experiment alone, same cells:\n"
                   f"{reproduce_command(_experiment_info(run_dir, info), Path(manifest.get('out', out)) / name)}")
        page = build_page(run_dir, run_dir / FIGURES, command=command)
        atomic_write_text(out / f"{name}.md", render_markdown(page, figure_prefix=f"{name}/{FIGURES}/"))
        status = page.verdict.status if page.verdict else "no finished cells"
        total = max(sum(page.counts.values()), _planned_cells(_experiment_info(run_dir, info), manifest.get("seeds")))
        if page.counts.get("done", 0) < total:  # a verdict on part of the grid is not the experiment's verdict
            status = f"incomplete ({page.counts.get('done', 0)} of {total} cells); so far: {status}"
        rows.append([f"[{name}]({name}.md)", status, page.verdict.sentence if page.verdict else "–", paper_claim(name)])
    index = [
        f"# Results gallery — preset {manifest['preset']}",
        "Every synthetic finding of the paper, run by divlab with several seeds. Each page shows the figures, the "
        "mean ± sd over seeds per grid point, the verdict computed from the database, the exact command, the time "
        "and the machine. The databases (`<name>/results.sqlite`) are committed: `divlab report "
        f"{manifest.get('out', out)}` regenerates every page from them, and the command below resumes an unfinished "
        "sweep.",
        "Reproducibility: the same code, seed, kind of CPU and thread count give bit-identical numbers; another kind "
        "of CPU rounds differently and training amplifies it, by about the seed-to-seed spread shown on each page "
        "(measured: docs/scaling.md, 'Reproducibility'). Wall times stand beside the machine's fp32 matmul peak "
        "per thread where the cells recorded it, so that a slow machine can be told from a slow divlab.",
        f"```\n{manifest['command']}\n```",
        markdown_table(Table(["experiment", "verdict", "this run", "the paper"], rows)),
    ]
    return atomic_write_text(out / "README.md", "\n\n".join(index) + "\n")


def _experiment_info(run_dir: Path, fallback: dict) -> dict:
    import json

    path = run_dir / "experiment.json"
    return {**fallback, **json.loads(path.read_text())} if path.is_file() else fallback
