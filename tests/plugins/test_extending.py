"""A task, its experiment kind and its report from outside divlab: docs/extending.md's code blocks are
written, word for word, into a directory outside the repository, registered by entry points (a hand-made
.dist-info) or by "module:attr", and used through the CLI to generate, train a sweep's cells and write a
report with a verdict. No divlab file is edited. About 20 s of CPU (two micro models, 10 steps each)."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

DOC = REPO / "docs" / "extending.md"


def doc_blocks() -> tuple[dict[str, str], list[list[str]]]:
    """({file name: content} of the blocks starting "# file: NAME", [divlab command lines of the sh block])."""
    files, commands = {}, []
    for language, body in re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        first, _, rest = body.partition("\n")
        if first.startswith("# file: "):
            files[first[len("# file: "):].strip()] = body if language == "python" else rest
        elif language == "sh":
            commands += [shlex.split(line)[1:] for line in body.splitlines() if line.startswith("divlab ")]
    return files, commands


@pytest.fixture
def plugin_dir(tmp_path):
    assert not str(tmp_path.resolve()).startswith(str(REPO.resolve()))  # outside the repository
    files, _ = doc_blocks()
    assert {"toy_span.py", "span.toml", "toy_span-0.1.dist-info/entry_points.txt"} <= set(files)
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content, encoding="utf-8")
    return tmp_path


def _env(plugin_dir: Path) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_dir), os.environ.get("PYTHONPATH")]))}


def test_the_documented_plugin_generates_trains_and_reports(plugin_dir):
    _, commands = doc_blocks()
    assert [c[0] for c in commands] == ["generate", "reproduce"]
    for command in commands:
        run_cli(*command, cwd=plugin_dir, env=_env(plugin_dir))
    manifest = json.loads((plugin_dir / "span-data" / "manifest.json").read_text())
    assert manifest["task"] == "span" and set(manifest["files"]) == {
        "train.jsonl", "test.jsonl", "test_seen.jsonl", "rules_train.jsonl", "rules_test.jsonl"}
    row = json.loads((plugin_dir / "span-data" / "train.jsonl").read_text().splitlines()[0])
    first, last = row["x"]
    start = row["z"].index(first) + 1
    end = row["z"].index(last, start)
    assert row["target"] == row["z"][:start] + row["z"][start:end][::-1] + row["z"][end:]  # the task's own answer

    report = (plugin_dir / "span-run" / "report" / "index.html").read_text()
    assert re.search(r"This run (shows|does NOT show|cannot be judged yet)", report)
    assert "unseen-pair exact match" in report and (plugin_dir / "span-run" / "report" / "span.png").is_file()
    from divlab.sweep.store import ResultStore

    with ResultStore(plugin_dir / "span-run") as store:
        results = [row["result"] for row in store.rows("done")]
    assert all("by_span" in r["unseen"] and "by_occurrences" not in r["unseen"] for r in results)  # its own breakdown
    status = run_cli("status", "span-run", cwd=plugin_dir, env=_env(plugin_dir))
    assert "2 done" in status.stdout


def test_module_attr_works_without_entry_points(plugin_dir):
    """The same plug-in named by "module:attr", with no .dist-info at all."""
    import shutil

    shutil.rmtree(plugin_dir / "toy_span-0.1.dist-info")
    env = _env(plugin_dir)
    run_cli("generate", "--task", "toy_span:TASK", "--set", "num_train_rules=3", "--out", "d", cwd=plugin_dir, env=env)
    assert json.loads((plugin_dir / "d" / "manifest.json").read_text())["task"] == "span"
    unknown = run_cli("generate", "--task", "span", "--out", "e", cwd=plugin_dir, env=env, check=False)
    assert unknown.returncode == 2 and "unknown task" in unknown.stderr and "rewrite" in unknown.stderr
    # A preset naming its kind by reference: every cell carries the reference, so sweep workers find it.
    preset = (plugin_dir / "span.toml").read_text().replace('kind = "span"\nseeds', 'kind = "toy_span:KIND"\nseeds')
    (plugin_dir / "ref.toml").write_text(preset)
    code = ("from divlab.experiments import load_experiment\n"
            "spec = load_experiment('span', 'ref.toml')\n"
            "print(sorted({c.config['kind'] for c in spec.cells()}), spec.kind)")
    out = subprocess.run([sys.executable, "-c", code], cwd=plugin_dir, env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["['toy_span:KIND']", "toy_span:KIND"], out.stderr
