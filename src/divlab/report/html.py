"""The HTML report of a sweep directory: the experiment's figure, verdict and tables, drawn by the builder
its kind names for the preset's report (experiments/<kind>.py), from the store's rows only."""

from __future__ import annotations

import html
import json
from pathlib import Path

from divlab.atomic import atomic_write_text
from divlab.experiments.registry import get_kind
from divlab.sweep.store import ResultStore
from divlab.tasks.registry import load_attribute

STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
         "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}img{max-width:100%}")


def _table(headers, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _experiment_section(kind_name: str, report_name: str, rows: list, out: Path) -> list[str]:
    spec = get_kind(kind_name).reports.get(report_name)
    if spec is None:
        return [f"<p>No figure: experiment kind {html.escape(kind_name)} has no report {html.escape(report_name)}.</p>"]
    if not rows:
        return ["<p>No finished cells yet.</p>"]
    missing = [axis for axis in spec.axes if axis not in rows[0]["point"]]
    if missing:
        return [f"<p>No {html.escape(report_name)} figure: the grid lacks the axis {html.escape(', '.join(missing))}.</p>"]
    figure = out / f"{report_name}.png"
    section = load_attribute(spec.builder)(rows, figure)
    verdict = load_attribute(spec.verdict)(rows)
    parts = [f'<img src="{figure.name}" alt="{html.escape(report_name)} figure">',
             f'<p class="verdict" data-status="{html.escape(verdict.status)}"><b>{html.escape(verdict.sentence())}</b></p>']
    parts += [f"<p>{html.escape(note)}</p>" for note in section.notes]
    parts += [f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}'
              f"</figcaption></figure>" for name, caption in section.extra_figures]
    parts.append(_table(section.headers, section.table))
    for title, headers, table in section.extra_tables:
        parts.append(f"<h3>{html.escape(title)}</h3>" + _table(headers, table))
    if section.cells:
        parts.append("<h2>All finished cells</h2>" + _table(*section.cells))
    return parts


def write_report(run_dir) -> Path:
    """Write RUN_DIR/report/index.html with PNG figures; return its path."""
    run_dir = Path(run_dir)
    with ResultStore(run_dir) as store:
        meta, rows, counts, failed = store.meta(), store.rows("done"), store.counts(), store.rows("failed")
    info = json.loads((run_dir / "experiment.json").read_text()) if (run_dir / "experiment.json").is_file() else {}
    report_name = info.get("report", {}).get("kind", meta.get("experiment"))
    kind_name = info.get("kind") or (rows[0]["config"].get("kind", "rewrite") if rows else "rewrite")
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    parts = [
        f"<h1>divlab {html.escape(meta.get('experiment', '?'))} — preset {html.escape(meta.get('preset', '?'))}</h1>",
        f"<p>{html.escape(info.get('description', ''))}</p>",
        f"<p>Cells: {counts['done']} done, {counts['failed']} failed, {counts['pending'] + counts['running']} not run. "
        f"Every number below is read from <code>results.sqlite</code>.</p>",
    ]
    parts += _experiment_section(kind_name, report_name, rows, out)
    if failed:
        parts.append("<h2>Failed cells</h2>")
        parts.append(_table(["cell", "point", "seed", "last error line"],
                            [[f["cell_id"], json.dumps(f["point"]), f["seed"], (f["error"] or "").strip().splitlines()[-1:]]
                             for f in failed]))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>divlab report</title><style>{STYLE}</style>"
            f"</head><body>{''.join(parts)}</body></html>")
    return atomic_write_text(out / "index.html", page)
