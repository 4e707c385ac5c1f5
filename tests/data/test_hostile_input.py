"""Inputs a careless or hostile user gives: each gets a one-line message naming the file, line or field,
exit status 2, and nothing already written changes."""

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from divlab.data import read_rows
from divlab.data.directory import DatasetDirError
from divlab.markov import MarkovAlgorithm, parse_rules
from divlab.train.curves import truncate_metrics
from tests.conftest import run_cli


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _refused(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "smoke"
    run_cli("generate", "--preset", "smoke", "--out", str(out), "--quiet")
    return out


def test_force_replaces_only_what_divlab_wrote(tmp_path, dataset):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    before = _snapshot(tmp_path)
    _refused(run_cli("generate", "--preset", "smoke", "--out", str(mine), "--force", "--quiet", check=False),
             f"refusing to replace {mine}", "divlab did not write it")
    assert _snapshot(tmp_path) == before
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(dataset), str(copy)], check=True)
    run_cli("generate", "--preset", "smoke", "--set", "seed=1", "--out", str(copy), "--force", "--quiet")
    assert json.loads((copy / "manifest.json").read_text())["config"]["seed"] == 1


def test_generate_without_a_preset_says_what_it_would_write(tmp_path):
    _refused(run_cli("generate", "--out", str(tmp_path / "x"), check=False), "--preset NAME or --config FILE",
             "paper-scale", "smoke")
    assert not (tmp_path / "x").exists()


def test_an_unwritable_out_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    _refused(run_cli("generate", "--preset", "smoke", "--out", str(blocker / "sub"), "--quiet", check=False),
             str(blocker))
    assert blocker.read_text() == "not a directory"
    if os.geteuid() != 0:  # root writes through permissions
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        _refused(run_cli("generate", "--preset", "smoke", "--out", str(locked / "d"), "--quiet", check=False),
                 str(locked))


def _edited(dataset: Path, tmp_path: Path, edit, fix_checksum: bool) -> Path:
    copy = tmp_path / "edited"
    subprocess.run(["cp", "-r", str(dataset), str(copy)], check=True)
    path = copy / "train.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[6] = edit(lines[6])
    path.write_bytes(b"".join(lines))
    if fix_checksum:  # a user who also edited the manifest: the rows themselves are then checked
        import hashlib

        manifest = json.loads((copy / "manifest.json").read_text())
        manifest["files"]["train.jsonl"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_a_dataset_changed_after_generation_is_refused_before_training(tmp_path, dataset):
    edited = _edited(dataset, tmp_path, lambda line: line.replace(b'"target"', b'"targte"'), fix_checksum=False)
    result = run_cli("train", str(edited), "--out", str(tmp_path / "run"), "--model", "tiny", "--epochs", "1",
                     check=False)
    _refused(result, str(edited / "train.jsonl"), "checksum")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("edit, message", [
    (lambda line: line.replace(b'"target"', b'"targte"'), "line 7 has no field 'target'"),
    (lambda line: line[:20] + b"\n", "line 7 is not valid JSON"),
    (lambda line: b"\xff\xfe" + line, "line 7 is not UTF-8"),
])
def test_a_bad_row_is_named_by_file_line_and_field(tmp_path, dataset, edit, message):
    edited = _edited(dataset, tmp_path, edit, fix_checksum=True)
    with pytest.raises(DatasetDirError, match=f"{edited / 'train.jsonl'}: {message}"):
        list(read_rows(edited, "train", fields=("x", "y", "z", "target", "has_op")))
    result = run_cli("train", str(edited), "--out", str(tmp_path / "run"), "--model", "tiny", "--epochs", "1",
                     check=False)
    _refused(result, str(edited / "train.jsonl"), message)


def test_files_that_are_not_utf8_are_named(tmp_path):
    toml = tmp_path / "config.toml"
    toml.write_bytes(b"num_train_rules = 4\n# caf\xe9\n")
    _refused(run_cli("generate", "--config", str(toml), "--out", str(tmp_path / "d"), check=False), str(toml), "UTF-8")
    rules = tmp_path / "rules.txt"
    rules.write_bytes(b"a -> \xe9\n")
    _refused(run_cli("markov", str(rules), "a", check=False), str(rules), "UTF-8")
    samples = tmp_path / "samples.jsonl"
    samples.write_bytes(b'{"task_id": "HumanEval/2", "completion": "    return 0.5\\n"}\n{"task_id": "\xff"}\n')
    _refused(run_cli("codeeval", "score", str(samples), "--benchmark", "humaneval", check=False), str(samples),
             "line 2 is not UTF-8")
    assert not (tmp_path / "eval_results.jsonl").exists()


def test_markov_reads_long_inputs_from_a_file_or_stdin(tmp_path):
    rules = tmp_path / "rules.txt"
    rules.write_text("ab -> ba\n")
    text = "ab" * 200_000  # 400 KB: more than a command line holds
    (tmp_path / "input.txt").write_text(text + "\n")
    result = run_cli("markov", str(rules), "--input", str(tmp_path / "input.txt"), "--max-steps", "3", check=False)
    expected = text
    for _ in range(3):
        expected = expected.replace("ab", "ba", 1)
    assert result.returncode == 3 and result.stdout.strip() == expected
    piped = run_cli("markov", str(rules), "--input", "-", input="aab\n")
    assert piped.stdout.strip() == "baa"  # aab -> aba -> baa
    _refused(run_cli("markov", str(rules), "ab", "--input", "-", check=False), "not both or neither")


def test_markov_trace_streams_instead_of_holding_every_step(tmp_path):
    rules = tmp_path / "grow.txt"
    rules.write_text("a -> aa\n")
    steps = []
    result = MarkovAlgorithm(parse_rules("a -> aa\n")).run("a", max_steps=50, on_step=steps.append)
    assert [s.after for s in steps] == ["a" * (n + 2) for n in range(50)] and result.trace == ()

    def cap_memory():  # held in memory, this trace would need ~1.3 GB (30,000 texts of up to 30,000 chars)
        resource.setrlimit(resource.RLIMIT_AS, (700 * 2**20, 700 * 2**20))

    with open(os.devnull, "w") as sink:
        ran = subprocess.run([sys.executable, "-m", "divlab.cli", "markov", str(rules), "a", "--trace",
                              "--max-steps", "30000"], stdout=subprocess.PIPE, stderr=sink, preexec_fn=cap_memory)
    assert ran.returncode == 3 and len(ran.stdout.strip()) == 30_001


def test_a_resumed_metrics_log_keeps_each_step_once(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": s, "loss": 1 / s}) + "\n" for s in (10, 20, 30, 40)) + '{"step": 5')
    truncate_metrics(path, 20)
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [10, 20]
