"""The one dataset writer: every task's output and a mixture record each file as {"sha256", "bytes"}, and
`verify_checksums` checks all of them (and old E6 manifests holding bare hashes); a changed byte is caught."""

import json

import pytest

from divlab.data import DatasetWriter, new_manifest, verify_checksums, write_dataset
from divlab.data.card import CARD
from divlab.mix import build_mixture, load_recipe
from divlab.tasks import get_task
from tests.conftest import SHARED_DATA

SMALL = {
    "rewrite": dict(num_train_rules=8, budget=80, num_test_rules=4, num_test_examples=20, num_seen_test_examples=10),
    "algebra": dict(num_train_rules=4, num_test_rules=2, budget=40, num_test_examples=10, num_seen_test_examples=10,
                    test_pattern_depth=[3, 3]),
    "program": dict(num_train_programs=6, num_test_programs=3, budget=40, num_test_examples=12,
                    num_seen_test_examples=6),
    "encrypted": dict(num_train_rules=8, budget=80, num_test_rules=4, num_test_examples=20,
                      num_seen_test_examples=10),
}


def _mixture(out):
    code = str(SHARED_DATA / "code_alpaca" / "code_alpaca_2k.json.gz")
    seeds = str(SHARED_DATA / "alpaca" / "seed_tasks.jsonl.gz")
    recipe = load_recipe("code-cpu/alpaca-100", {"budget": 40, "counts.general": 10, "sources.code.path": code,
                                                  "sources.general.path": seeds})
    return build_mixture(recipe, out)


@pytest.mark.parametrize("name", [*SMALL, "mix"])
def test_every_output_records_files_one_way_and_verifies(tmp_path, name):
    out = tmp_path / name
    if name == "mix":
        _mixture(out)
    else:
        task = get_task(name)
        task.generate(task.build_config(None, None, SMALL[name]), out, progress=False)
    files = json.loads((out / "manifest.json").read_text())["files"]
    # Beside the manifest, only the dataset card is unlisted: it is derived from the manifest (data/card.py).
    on_disk = {p.name for p in out.iterdir() if p.name not in ("manifest.json", CARD)}
    assert set(files) == on_disk and (out / CARD).is_file()
    assert all(set(entry) == {"sha256", "bytes"} and entry["bytes"] == (out / n).stat().st_size
               for n, entry in files.items())
    assert verify_checksums(out) == {n: True for n in files}
    victim = out / "train.jsonl"
    victim.write_bytes(victim.read_bytes().replace(b"}", b" }", 1))
    assert verify_checksums(out)["train.jsonl"] is False


def test_old_manifests_with_bare_hashes_still_verify(tmp_path):
    task = get_task("encrypted")
    out = tmp_path / "e6"
    task.generate(task.build_config(None, None, SMALL["encrypted"]), out, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"] = {n: e["sha256"] for n, e in manifest["files"].items()}  # as E6 wrote them before
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert all(verify_checksums(out).values())


def test_the_writer_streams_hashes_and_writes_the_manifest_last(tmp_path):
    def write(dataset: DatasetWriter) -> None:
        with dataset.split("train.jsonl") as out:
            out.write('{"x": "é"}\n')
            out.write(b'{"x": "b"}\n')
        dataset.add_split("train", {"file": "train.jsonl", "rows": 2})
        dataset.rule_table("rules_train.jsonl", [{"x": "é", "y": ""}], ensure_ascii=False)
        assert not (dataset.directory / "manifest.json").exists()

    manifest = write_dataset(tmp_path / "d", new_manifest("toy", {"n": 1}, 0), write)
    assert manifest["files"]["train.jsonl"]["bytes"] == len('{"x": "é"}\n{"x": "b"}\n'.encode())
    assert (tmp_path / "d" / "rules_train.jsonl").read_text(encoding="utf-8") == '{"x": "é", "y": ""}\n'
    assert all(verify_checksums(tmp_path / "d").values())
    # The same dataset asked for again by another writer: the one in place stands.
    assert write_dataset(tmp_path / "d", new_manifest("toy", {"n": 1}, 0), write)["files"] == manifest["files"]
