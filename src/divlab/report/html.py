"""The HTML report of a sweep directory (RUN_DIR/report/index.html with its PNG figures): the page of
report/page.py, rendered."""

from __future__ import annotations

import html
from pathlib import Path

from divlab.atomic import atomic_write_text
from divlab.report.page import Figure, Page, Table, VerdictBlock, build_page

STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
         "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}img{max-width:100%}"
         ".warning{background:#fff3cd;padding:4px 8px}pre{background:#f4f4f4;padding:6px}")


def _table(block: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(str(h))}</th>" for h in block.headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in block.rows)
    title = f"<h2>{esc(block.title)}</h2>" if block.title else ""
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _block(block) -> str:
    esc = html.escape
    if isinstance(block, VerdictBlock):
        return f'<p class="verdict" data-status="{esc(block.status)}"><b>{esc(block.sentence)}</b></p>'
    if isinstance(block, Figure):
        return (f'<figure><img src="{esc(block.file)}" alt="{esc(block.caption)}"><figcaption>{esc(block.caption)}'
                "</figcaption></figure>")
    if isinstance(block, Table):
        return _table(block)
    if block.kind == "code":
        return f"<pre><code>{esc(block.text)}</code></pre>"
    if block.kind == "warning":
        return f'<p class="warning"><b>Note:</b> {esc(block.text)}</p>'
    if block.kind == "h2":
        return f"<h2>{esc(block.text)}</h2>"
    return f"<p>{esc(block.text)}</p>" if block.text else ""


def render_html(page: Page) -> str:
    body = f"<h1>{html.escape(page.title)}</h1>" + "".join(_block(b) for b in page.blocks)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(page.title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def write_report(run_dir) -> Path:
    """Write RUN_DIR/report/index.html with PNG figures; return its path."""
    out = Path(run_dir) / "report"
    page = build_page(run_dir, out)
    out.mkdir(exist_ok=True)
    return atomic_write_text(out / "index.html", render_html(page))

