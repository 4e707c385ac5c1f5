"""The HTML report of a sweep directory."""

from __future__ import annotations

import html
import json
from pathlib import Path

from divlab.report.figures import BUILDERS
from divlab.report.verdicts import CHECKS
from divlab.sweep.store import ResultStore


def _table(headers, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(run_dir) -> Path:
    """Write RUN_DIR/report/index.html with PNG figures; return its path."""
    run_dir = Path(run_dir)
    store = ResultStore(run_dir)
    try:
        meta = store.meta()
        rows = store.rows("done")
        counts = store.counts()
        failed = store.rows("failed")
    finally:
        store.close()
    info = json.loads((run_dir / "experiment.json").read_text()) if (run_dir / "experiment.json").is_file() else {}
    kind = info.get("report", {}).get("kind", meta.get("experiment"))
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    parts = [
        f"<h1>divlab {html.escape(meta.get('experiment', '?'))} — preset {html.escape(meta.get('preset', '?'))}</h1>",
        f"<p>{html.escape(info.get('description', ''))}</p>",
        f"<p>Cells: {counts['done']} done, {counts['failed']} failed, {counts['pending'] + counts['running']} not run. "
        f"Every number below is read from <code>results.sqlite</code>.</p>",
    ]
    builder, needed = BUILDERS.get(kind, (None, ()))
    section: dict = {}
    missing = [axis for axis in needed if rows and axis not in rows[0]["point"]]
    if missing:
        parts.append(f"<p>No {html.escape(kind)} figure: the grid lacks the axis {html.escape(', '.join(missing))}.</p>")
        builder = None
    if builder and rows:
        figure = out / f"{kind}.png"
        section = builder(rows, figure, list(info.get("axes", {})))
        parts.append(f'<img src="{figure.name}" alt="{kind} figure">')
        try:
            shown, why = CHECKS[kind](rows)
        except (KeyError, ValueError) as error:  # an incomplete grid: say so rather than guess
            shown, why = False, f"cannot be judged from these cells ({error!r})"
        verdict = "shows the paper's effect" if shown else "does NOT show the paper's effect"
        parts.append(f'<p class="verdict"><b>This run {verdict}:</b> {html.escape(why)}.</p>')
        fit = section.get("threshold")
        if kind == "e1":
            parts.append(
                "<p>Estimated threshold I* (logistic fit of unseen-rule accuracy vs log I, 95 % bootstrap interval): "
                + (f"<b>{fit['threshold']:,.0f}</b> [{fit['low']:,.0f}, {fit['high']:,.0f}]" if fit else "not estimable (accuracy never crosses 0.5)")
                + ". The paper reports no generalization below ~300 instructions and always above 1,000.</p>"
            )
        parts.append(_table(section["headers"], section["table"]))
        for title, headers, table in section.get("extra_tables", ()):
            parts.append(f"<h3>{html.escape(title)}</h3>" + _table(headers, table))
    elif not rows:
        parts.append("<p>No finished cells yet.</p>")
    if failed:
        parts.append("<h2>Failed cells</h2>")
        parts.append(_table(["cell", "point", "seed", "last error line"],
                            [[f["cell_id"], json.dumps(f["point"]), f["seed"], (f["error"] or "").strip().splitlines()[-1:]] for f in failed]))
    if rows and builder and "cells" in section:
        parts.append("<h2>All finished cells</h2>")
        parts.append(_table(*section["cells"]))
    elif rows and "unseen" in rows[0]["result"] and "train" in rows[0]["result"]:
        parts.append("<h2>All finished cells</h2>")
        parts.append(_table(
            ["cell", "point", "seed", "unseen", "has-op", "no-op", "seen", "steps", "train s", "tokens/s"],
            [[r["cell_id"], json.dumps(r["point"]), r["seed"], f"{r['result']['unseen']['accuracy']:.3f}",
              _opt(r["result"]["unseen"]["has_op_accuracy"]), _opt(r["result"]["unseen"]["no_op_accuracy"]),
              f"{r['result']['seen']['accuracy']:.3f}", r["result"]["train"]["steps"],
              f"{r['result']['train']['elapsed_s']:.0f}", f"{r['result']['train']['tokens_per_s']:,.0f}"] for r in rows],
        ))
    style = "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}img{max-width:100%}"
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>divlab report</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _opt(value) -> str:
    return "–" if value is None else f"{value:.3f}"
