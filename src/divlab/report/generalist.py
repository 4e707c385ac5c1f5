"""Table 3 of the generalist experiment: this run's mixtures beside the paper's, and the verdict on
"diversified mixtures beat more of the base data at the same budget"."""

from __future__ import annotations

from collections import defaultdict

from divlab.evalsuite.aggregates import relative_gain
from divlab.report.common import Section, Verdict, mean_sd, not_enough, plt, reference, save_figure, shown_if

AGGREGATES = (("overall", "Overall"), ("if", "IF"), ("overall_without_if", "Overall w/o IF"),
              ("overall_without_math", "Overall w/o Math"))


def _counts_label(counts: dict) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counts.items() if count)


def _groups(rows) -> dict[tuple, list]:
    """Cells by mixture (total, counts), in order of total, all-base first."""
    groups = defaultdict(list)
    for row in rows:
        result = row["result"]
        groups[(result["total"], tuple(sorted(result["counts"].items())))].append(row)
    return dict(sorted(groups.items(), key=lambda item: (item[0][0], _diversified(item[1][0]["result"]),
                                                         item[0][1])))


def _diversified(result: dict) -> bool:
    return any(count for name, count in result["counts"].items() if name != result["base"])


def _overall(members) -> float | None:
    return mean_sd([m["result"]["aggregates"]["overall"] for m in members])[0]


def _two(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def table_3(rows, figure_path) -> Section:
    groups = _groups(rows)
    all_base = {key[0]: _overall(members) for key, members in groups.items()
                if not _diversified(members[0]["result"])}
    benchmarks = sorted({b for r in rows for b in r["result"]["scores"]})
    headers = ["total", "counts"] + [title for _, title in AGGREGATES] + ["RelDiv %"] + benchmarks + ["seeds"]
    table, labels, overall = [], [], []
    for (total, _), members in groups.items():
        result = members[0]["result"]
        cells = [f"{total:,}", _counts_label(result["counts"])]
        for key, _ in AGGREGATES:
            mean, sd = mean_sd([m["result"]["aggregates"][key] for m in members])
            cells.append(_two(mean) + (f" ± {sd:.2f}" if sd is not None else ""))
        base_overall, mine = all_base.get(total), _overall(members)
        cells.append(_two(relative_gain(mine, base_overall)) if base_overall and mine is not None else "–")
        cells += [_two(mean_sd([m["result"]["scores"].get(b) for m in members])[0]) for b in benchmarks]
        table.append(cells + [len(members)])
        labels.append(f"{total:,}: {_counts_label(result['counts'])}")
        overall.append(mine)
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7, 0.5 + 0.45 * max(len(labels), 1)))
    colours = ["0.6" if not _diversified(m[0]["result"]) else "tab:blue" for m in groups.values()]
    ax.barh(range(len(labels)), [v or 0 for v in overall], color=colours)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Overall (mean of the suite's benchmark scores, %); grey: base data only")
    save_figure(fig, figure_path)
    paper = reference("generalist")
    notes = []
    partial = sorted({name for r in rows for name in [*r["result"]["aggregates"].get("missing", []),
                                                       *r["result"].get("not_run", {})]})
    if partial:
        notes.append(f"Aggregates here leave out {', '.join(partial)} (not run), where the paper's cover them.")
    if any(r["result"].get("partial_data") for r in rows):
        notes.append("Benchmarks were scored on their first examples only (the preset's `limit`): a pipeline check, "
                     "not a measurement.")
    cells = [[r["cell_id"], str(r["point"]), r["seed"], _two(r["result"]["aggregates"]["overall"]),
              r["result"]["finetune"]["steps"], f"{r['result']['finetune']['train_loss']:.3f}",
              f"{r['result']['wall_s']:.0f}"] for r in rows]
    return Section(headers, table, notes=notes,
                   extra_tables=[(f"The paper's numbers ({paper['source']})", paper["columns"], paper["rows"])],
                   cells=(["cell", "point", "seed", "Overall", "steps", "train loss", "wall s"], cells))


def check_table_3(rows) -> Verdict:
    """The paper: at every total, swapping part of the base data for diversifying data beats base data alone
    (RelDiv > 0 in all 12 of its rows that have a base-only twin)."""
    groups = _groups(rows)
    base = {key[0]: _overall(m) for key, m in groups.items() if not _diversified(m[0]["result"])}
    pairs = [(key[0], _overall(m)) for key, m in groups.items() if _diversified(m[0]["result"]) and key[0] in base]
    pairs = [(total, value) for total, value in pairs if value is not None and base[total] is not None]
    if not pairs:
        return not_enough("needs, at one total, a base-only mixture and a diversified one with scores")
    wins = [(total, value) for total, value in pairs if value > base[total]]
    detail = "; ".join(f"{total:,}: base only {base[total]:.2f}, diversified "
                       + ", ".join(f"{v:.2f}" for t, v in pairs if t == total) for total in sorted({t for t, _ in pairs}))
    return shown_if(len(wins) == len(pairs),
                    f"{len(wins)} of {len(pairs)} diversified mixtures beat base data alone at the same total "
                    f"(Overall: {detail}; the paper: 12 of 12)")
