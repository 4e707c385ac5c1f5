"""The file plumbing every package writes through: atomic writes, the run-directory identity check, the data
directory lookup, and dataset manifests with their checksums."""

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divlab.atomic import atomic_write_bytes, atomic_write_json, replace_dir
from divlab.data import read_manifest, verify_checksums
from divlab.data.locate import locate, require
from divlab.errors import DataError, RunDirError
from divlab.rundir import claim_run_dir, differences
from divlab.tasks.rewrite import RewriteConfig, generate_rewrite


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=2000))
def test_atomic_write_round_trips_and_leaves_no_partial(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("atomic")
    target = folder / "file.bin"
    target.write_bytes(b"old")
    atomic_write_bytes(target, data, durable=True)
    assert target.read_bytes() == data
    assert [p.name for p in folder.iterdir()] == ["file.bin"]


def test_a_failed_write_keeps_the_old_content(tmp_path):
    target = tmp_path / "x.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_replace_dir_swaps_a_whole_directory(tmp_path):
    old, new = tmp_path / "d", tmp_path / "new"
    old.mkdir(), new.mkdir()
    (old / "a").write_text("old"), (new / "b").write_text("new")
    replace_dir(new, old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"] and (old / "b").read_text() == "new"


def test_differences_name_the_changed_fields():
    assert differences({"train": {"lr": 1, "seed": 0}, "d": "x"}, {"train": {"lr": 2, "seed": 0}, "d": "x"}) == \
        ["train.lr: 1 -> 2"]
    assert differences({"a": 1}, {"a": 1, "b": [1]}) == ["b: None -> [1]"]
    assert differences({"a": [1, 2]}, {"a": [1, 2]}) == []


def test_claim_run_dir_creates_resumes_and_refuses(tmp_path):
    run = tmp_path / "run"
    assert claim_run_dir(run, "id.json", {"lr": 1, "log": 5}, "run") is False
    assert claim_run_dir(run, "id.json", {"lr": 1, "log": 5}, "run") is True
    # Fields outside `compare` may change between a run and its resumption.
    assert claim_run_dir(run, "id.json", {"lr": 1, "log": 9}, "run", compare=lambda r: {"lr": r["lr"]}) is True
    with pytest.raises(RunDirError, match=r"holds a different run \(differs in: lr: 1 -> 2\)"):
        claim_run_dir(run, "id.json", {"lr": 2, "log": 5}, "run")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not a divlab run directory"):
        claim_run_dir(foreign, "id.json", {"lr": 1}, "run")
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_data_files_are_found_as_given_or_in_the_data_directory(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.jsonl").write_text("{}\n")
    monkeypatch.setenv("DIVLAB_DATA", str(tmp_path))
    assert locate("sub/f.jsonl") == tmp_path / "sub" / "f.jsonl"
    assert locate(tmp_path / "sub" / "f.jsonl") == tmp_path / "sub" / "f.jsonl"
    assert locate("sub/none.jsonl") is None
    with pytest.raises(DataError, match=f"sub/none.jsonl not found, neither as given nor in the data directory {tmp_path}"):
        require("sub/none.jsonl", "source x")
    monkeypatch.delenv("DIVLAB_DATA")
    assert locate("sub/f.jsonl") is None
    with pytest.raises(DataError, match="DIVLAB_DATA is not set"):
        require("sub/f.jsonl", "source x")


def test_manifest_checksums_catch_an_altered_file(tmp_path):
    config = RewriteConfig(alphabet="abcd", x_len=(1, 2), y_len=(1, 2), z_len=(6, 6), num_train_rules=4, budget=40,
                           num_test_rules=2, num_test_examples=10, num_seen_test_examples=10)
    out = tmp_path / "d"
    manifest = generate_rewrite(config, out, progress=False)
    assert read_manifest(out) == manifest
    assert all(verify_checksums(out).values())
    with open(out / "train.jsonl", "a", encoding="utf-8") as handle:
        handle.write("\n")
    checks = verify_checksums(out)
    assert checks["train.jsonl"] is False and sum(checks.values()) == len(checks) - 1
    os.remove(out / "test.jsonl")
    with pytest.raises(DataError, match="test.jsonl listed in the manifest is missing"):
        read_manifest(out)
