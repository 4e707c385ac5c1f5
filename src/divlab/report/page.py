"""A sweep's report as a page of plain blocks (text, verdict, figures, tables, code), built from the store
alone; html.py and markdown.py only render it. What the page says first is what a careful reader asks:
what produced these numbers (command, seeds, divlab version, machine, time) and what is missing from them
(seeds fewer than asked, failed or unfinished cells), so that nothing is averaged silently."""

from __future__ import annotations

import json
import shlex
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from divlab.experiments.base import point_label
from divlab.experiments.registry import DEFAULT_KIND, get_kind
from divlab.report.common import Section
from divlab.sweep.store import ResultStore
from divlab.registry import load_attribute


@dataclass(frozen=True)
class Text:
    text: str
    kind: str = "p"  # p, h2, warning, code


@dataclass(frozen=True)
class VerdictBlock:
    status: str
    sentence: str


@dataclass(frozen=True)
class Figure:
    file: str  # name inside the page's figure folder
    caption: str


@dataclass(frozen=True)
class Table:
    headers: list
    rows: list
    title: str = ""


@dataclass
class Page:
    title: str
    blocks: list = field(default_factory=list)
    verdict: VerdictBlock | None = None
    counts: dict = field(default_factory=dict)  # cells by status: what the verdict is (not yet) over


def reproduce_command(info: dict, run_dir) -> str:
    """The command that (re)produces, or resumes, this sweep."""
    words = ["divlab", "reproduce", info.get("experiment", "?"), "--preset", info.get("preset", "?"),
             "--seeds", str(info.get("seeds", 1))]
    for key, value in (info.get("overrides") or {}).items():
        words += ["--set", f"{key}={json.dumps(value)}"]
    return shlex.join(words + ["--out", str(run_dir)])


def _minutes(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min"


def provenance(rows: list, info: dict) -> list[str]:
    """Which seeds, which divlab, which machine, how long: read from the finished cells themselves."""
    lines = []
    seeds = sorted({r["seed"] for r in rows})
    lines.append(f"Seeds asked per grid point: {info.get('seeds', '?')}; seeds in the finished cells: "
                 f"{', '.join(map(str, seeds)) or 'none'}.")
    produced = [r["result"].get("produced_by") for r in rows]
    recorded = [p for p in produced if p]
    if recorded:
        versions = Counter(f"divlab {p['divlab']}" + (f" (commit {p['divlab_commit']})" if p.get("divlab_commit") else "")
                           for p in recorded)
        machines = Counter(f"{p['cpu']}, {p['cores']} cores" + (f", GPU {p['gpu']}" if p.get("gpu") else "")
                           + f", torch {p.get('torch', '?')}" for p in recorded)
        lines.append("Produced by " + "; ".join(f"{v} ({n} cell{'s' * (n > 1)})" for v, n in versions.items()) + ", on "
                     + "; ".join(f"{m} ({n} cell{'s' * (n > 1)})" for m, n in machines.items()) + ".")
    if len(recorded) < len(rows):
        lines.append(f"{len(rows) - len(recorded)} cell(s) predate the recording of version and machine.")
    walls = [r["result"]["wall_s"] for r in rows if r["result"].get("wall_s") is not None]
    spans = [(r["started_at"], r["finished_at"]) for r in rows if r["started_at"] and r["finished_at"]]
    if walls:
        threads = sorted({r["result"].get("threads") for r in rows if r["result"].get("threads")})
        text = (f"Time: {_minutes(sum(walls))} of cell time in all ({_minutes(sum(walls) / len(walls))} per cell on "
                f"{'/'.join(map(str, threads)) or '?'} thread(s))")
        if spans:
            text += (f"; {_minutes(max(f for _, f in spans) - min(s for s, _ in spans))} from the first cell's start to "
                     "the last one's end, pauses between resumed runs included")
        lines.append(text + ". " + _peak_sentence(recorded, len(rows)))
    return lines


def _peak_sentence(recorded: list[dict], cells: int) -> str:
    """The machines' measured fp32 peak, beside the wall times: machines differ ~2x in it, and a reader should
    be able to tell a slow machine from a slow divlab."""
    peaks = [p["fp32_gflops_per_thread"] for p in recorded if p.get("fp32_gflops_per_thread")]
    if not peaks:
        return "The machine's fp32 matmul peak was not recorded (these cells predate its recording)."
    span = f"{min(peaks):.1f}" if min(peaks) == max(peaks) else f"{min(peaks):.1f}-{max(peaks):.1f}"
    return (f"The machine's fp32 matmul peak, measured per thread as each cell started: {span} GFLOP/s "
            f"({len(peaks)} of {cells} cells).")


def shortfalls(rows: list, failed: list, counts: dict, info: dict) -> list[str]:
    """What the averages are NOT over: grid points with fewer finished seeds than asked, failed cells, cells
    not run yet. Empty when the sweep is complete."""
    asked = int(info.get("seeds", 1))
    per_point = Counter(json.dumps(r["point"], sort_keys=True) for r in rows)
    points = {json.dumps(r["point"], sort_keys=True): r["point"] for r in rows + failed}
    short = [f"{point_label(points[key])} ({per_point.get(key, 0)})" for key in points if per_point.get(key, 0) < asked]
    lines = []
    if short:
        lines.append(f"Fewer finished seeds than the {asked} asked at {len(short)} grid point(s); their means are over "
                     f"the seeds shown in parentheses: {'; '.join(short)}.")
    if failed:
        lines.append(f"{len(failed)} cell(s) failed and are left out of every number (listed at the end): "
                     + "; ".join(f"{point_label(f['point'])} seed {f['seed']}" for f in failed) + ".")
    unfinished = counts.get("pending", 0) + counts.get("running", 0)
    if unfinished:
        lines.append(f"{unfinished} cell(s) have not run yet: the sweep is incomplete; run its command again to "
                     "finish it.")
    return lines


def build_page(run_dir, figure_dir, command: str | None = None) -> Page:
    """The report of the sweep in RUN_DIR; figures are written into FIGURE_DIR."""
    run_dir, figure_dir = Path(run_dir), Path(figure_dir)
    with ResultStore(run_dir) as store:
        meta, rows, counts, failed = store.meta(), store.rows("done"), store.counts(), store.rows("failed")
    info = json.loads((run_dir / "experiment.json").read_text()) if (run_dir / "experiment.json").is_file() else {}
    info.setdefault("experiment", meta.get("experiment", "?"))
    info.setdefault("preset", meta.get("preset", "?"))
    report_name = info.get("report", {}).get("kind", info["experiment"])
    kind_name = info.get("kind") or (rows[0]["config"].get("kind", DEFAULT_KIND) if rows else DEFAULT_KIND)
    page = Page(f"divlab {info['experiment']} — preset {info['preset']}", counts=counts)
    page.blocks.append(Text(info.get("description", "")))
    page.blocks.append(Text(f"Cells: {counts['done']} done, {counts['failed']} failed, "
                            f"{counts['pending'] + counts['running']} not run. Every number below is read from "
                            "results.sqlite."))
    page.blocks.append(Text(command or reproduce_command(info, run_dir), "code"))
    page.blocks += [Text(line) for line in provenance(rows, info)]
    page.blocks += [Text(line, "warning") for line in shortfalls(rows, failed, counts, info)]
    page.blocks += _experiment_blocks(page, kind_name, report_name, rows, figure_dir)
    if failed:
        page.blocks.append(Table(["cell", "point", "seed", "last error line"],
                                 [[f["cell_id"], json.dumps(f["point"]), f["seed"],
                                   ((f["error"] or "").strip().splitlines() or [""])[-1]] for f in failed],
                                 title="Failed cells"))
    return page


def _experiment_blocks(page: Page, kind_name: str, report_name: str, rows: list, figure_dir: Path) -> list:
    spec = get_kind(kind_name).reports.get(report_name)
    if spec is None:
        return [Text(f"No figure: experiment kind {kind_name} has no report {report_name}.")]
    if not rows:
        return [Text("No finished cells yet.")]
    missing = [axis for axis in spec.axes if axis not in rows[0]["point"]]
    if missing:
        return [Text(f"No {report_name} figure: the grid lacks the axis {', '.join(missing)}.")]
    figure_dir.mkdir(parents=True, exist_ok=True)
    figure = figure_dir / f"{report_name}.png"
    section: Section = load_attribute(spec.builder)(rows, figure)
    verdict = load_attribute(spec.verdict)(rows)
    page.verdict = VerdictBlock(verdict.status, verdict.sentence())
    blocks = [page.verdict, Figure(figure.name, f"{report_name}: {page.title}")]
    blocks += [Text(note) for note in section.notes]
    blocks.append(Table(section.headers, section.table))
    blocks += [Figure(name, caption) for name, caption in section.extra_figures]
    blocks += [Table(headers, table, title=title) for title, headers, table in section.extra_tables]
    if section.cells:
        blocks.append(Table(*section.cells, title="All finished cells"))
    return blocks
