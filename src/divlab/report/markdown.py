"""The page of report/page.py as Markdown (the results gallery's pages under docs/results/), with figures
linked relative to the page."""

from __future__ import annotations

from divlab.report.page import Figure, Page, Table, VerdictBlock


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(block: Table) -> str:
    lines = [f"### {block.title}", ""] if block.title else []
    lines.append("| " + " | ".join(_cell(h) for h in block.headers) + " |")
    lines.append("|" + "---|" * len(block.headers))
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
    return "\n".join(lines)


def _block(block, figure_prefix: str) -> str:
    if isinstance(block, VerdictBlock):
        return f"**Verdict ({block.status}).** {block.sentence}"
    if isinstance(block, Figure):
        return f"![{_cell(block.caption)}]({figure_prefix}{block.file})\n\n*{block.caption}*"
    if isinstance(block, Table):
        return markdown_table(block)
    if block.kind == "code":
        return f"```\n{block.text}\n```"
    if block.kind == "warning":
        return f"> **Note:** {block.text}"
    if block.kind == "h2":
        return f"## {block.text}"
    return block.text


def render_markdown(page: Page, figure_prefix: str = "") -> str:
    """Markdown text of the page; figure files are linked as FIGURE_PREFIX + name."""
    parts = [f"# {page.title}"] + [_block(b, figure_prefix) for b in page.blocks]
    return "\n\n".join(p for p in parts if p) + "\n"
