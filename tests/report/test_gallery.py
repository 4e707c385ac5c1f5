"""The results gallery: `divlab reproduce all` sweeps each experiment into its own resumable directory and
writes one Markdown page per experiment whose every number comes from the database; `divlab report` on the
gallery rewrites the same pages; missing seeds and failed cells are said on the page."""

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from divlab.cli import main
from divlab.errors import ConfigError, UsageError
from divlab.report.gallery import write_gallery
from divlab.sweep.gallery import run_gallery
from divlab.sweep.store import ResultStore

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "results"


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    out = tmp_path_factory.mktemp("gallery") / "results"
    assert main(["reproduce", "all", "--preset", "smoke", "--seeds", "2", "--only", "e1", "--out", str(out),
                 "--workers", "1", "--threads", "1", "--quiet"]) == 0
    return out


def _unseen_by_point(run_dir):
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        rows = db.execute("select point, result from cells where status = 'done'").fetchall()
    by_point = {}
    for point, result in rows:
        count = json.loads(point)["dataset.num_train_rules"]
        by_point.setdefault(count, []).append(json.loads(result)["unseen"]["accuracy"])
    return by_point


def test_reproduce_all_writes_a_page_per_experiment_from_its_database(gallery):
    manifest = json.loads((gallery / "gallery.json").read_text())
    assert manifest["experiments"] == ["e1"] and manifest["seeds"] == 2 and manifest["preset"] == "smoke"
    index, page = (gallery / "README.md").read_text(), (gallery / "e1.md").read_text()
    assert "[e1](e1.md)" in index and manifest["command"] in index
    assert "divlab reproduce all --preset smoke --seeds 2 --only e1" in page
    assert "Seeds asked per grid point: 2; seeds in the finished cells: 0, 1." in page
    assert "Produced by divlab 0.1.0" in page and "cores" in page
    assert "**Verdict (" in page
    # Independent oracle: the mean ± sd of each grid point, computed here from the database by numpy.
    for count, values in _unseen_by_point(gallery / "e1").items():
        assert len(values) == 2
        line = next(line for line in page.splitlines() if line.startswith(f"| {count} |"))
        assert f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}" in line
    for link in [part.split(")")[0] for part in page.split("](")[1:]]:
        assert (gallery / link).is_file(), link  # every figure the page links exists


def test_report_on_a_gallery_rewrites_the_same_pages(gallery):
    before = {p.name: p.read_text() for p in gallery.glob("*.md")}
    (gallery / "e1.md").unlink()
    assert main(["report", str(gallery)]) == 0
    assert {p.name: p.read_text() for p in gallery.glob("*.md")} == before


def test_missing_seeds_and_failed_cells_are_said_on_the_page(gallery, tmp_path):
    copy = tmp_path / "results"
    shutil.copytree(gallery, copy, ignore=shutil.ignore_patterns("cells", "datasets"))
    with sqlite3.connect(copy / "e1" / "results.sqlite") as db:
        cell, point = db.execute("select cell_id, point from cells order by rowid limit 1").fetchone()
        db.execute("update cells set status = 'failed', error = 'Traceback\nRuntimeError: boom' where cell_id = ?", (cell,))
    write_gallery(copy)
    page = (copy / "e1.md").read_text()
    count = json.loads(point)["dataset.num_train_rules"]
    assert "Fewer finished seeds than the 2 asked at 1 grid point(s)" in page
    assert f"num_train_rules={count} (1)" in page
    assert "1 cell(s) failed and are left out of every number" in page and "RuntimeError: boom" in page
    assert "| incomplete (5 of 6 cells); so far: " in (copy / "README.md").read_text()
    line = next(line for line in page.splitlines() if line.startswith(f"| {count} |"))
    assert line.rstrip().endswith("| 1 |")  # the seeds column counts what the mean is over


def test_gallery_refuses_bad_input_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match="--only.*e9"):
        run_gallery("smoke", tmp_path / "g", only="e1,e9")
    with pytest.raises(ConfigError, match="seeds"):
        run_gallery("smoke", tmp_path / "g", seeds=0, only="e1")
    assert not (tmp_path / "g").exists()
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "gallery.json").write_text(json.dumps({"preset": "cpu", "experiments": ["e1"], "overrides": {}}))
    with pytest.raises(UsageError, match="preset 'cpu'"):
        run_gallery("smoke", tmp_path / "g", only="e1")


def test_a_finished_cell_is_in_the_database_file_alone(tmp_path):
    """Copying or committing results.sqlite while a sweep still runs keeps every finished cell: the
    write-ahead log is folded in after each one."""
    from divlab.experiments.base import Cell

    store = ResultStore(tmp_path, create=True)
    cell = Cell({"a": 1}, 0, {"x": 1})
    store.add_cells([cell])
    store.mark_done(cell.cell_id, {"answer": 42})
    shutil.copy(tmp_path / "results.sqlite", tmp_path / "copy.sqlite")  # without the -wal file
    with sqlite3.connect(tmp_path / "copy.sqlite") as db:
        assert db.execute("select status, result from cells").fetchall() == [("done", '{"answer": 42}')]
    store.close()


@pytest.mark.skipif(not (COMMITTED / "gallery.json").is_file(), reason="no committed gallery")
def test_committed_gallery_pages_are_what_their_databases_say(tmp_path):
    """Every committed results page regenerates, number for number, from its committed database."""
    manifest = json.loads((COMMITTED / "gallery.json").read_text())
    copy = tmp_path / "results"
    copy.mkdir()
    shutil.copy(COMMITTED / "gallery.json", copy)
    for name in manifest["experiments"]:
        if (COMMITTED / name / "results.sqlite").is_file():
            (copy / name).mkdir()
            for file in ("results.sqlite", "experiment.json"):
                shutil.copy(COMMITTED / name / file, copy / name)
    write_gallery(copy)
    for page in sorted(copy.glob("*.md")):
        assert page.read_text() == (COMMITTED / page.name).read_text(), f"docs/results/{page.name} is stale: run divlab report docs/results"
