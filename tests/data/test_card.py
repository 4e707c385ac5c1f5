"""Datasets that travel: every dataset directory carries a README.md with Hugging Face's YAML header, and
`datasets.load_dataset(DIR)` reads its splits by that card alone (no divlab code involved). ~5 s."""

import json
from pathlib import Path

import datasets
import yaml

from divlab.data import verify_checksums
from divlab.data.card import CARD
from divlab.mix import build_mixture, load_recipe
from divlab.tasks.rewrite import RewriteConfig, generate_rewrite
from tests.conftest import SHARED_DATA

SMALL = RewriteConfig(alphabet="abcd", x_len=(1, 2), y_len=(1, 2), z_len=(6, 6), num_train_rules=4, budget=80,
                      num_test_rules=3, num_test_examples=12, num_seen_test_examples=10, seed=3)


def _header(directory: Path) -> dict:
    text = (directory / CARD).read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def _load(directory: Path, tmp_path: Path, name: str | None = None):
    return datasets.load_dataset(str(directory), name, cache_dir=str(tmp_path / "hf-cache"))


def test_load_dataset_reads_every_split_and_the_rule_tables_by_the_card(tmp_path):
    out = tmp_path / "rewrite"
    manifest = generate_rewrite(SMALL, out, progress=False)
    loaded = _load(out, tmp_path)
    assert set(loaded) == set(manifest["splits"]) == {"train", "test", "test_seen"}
    for split, entry in manifest["splits"].items():
        assert loaded[split].num_rows == entry["rows"]
        rows = [json.loads(line) for line in (out / entry["file"]).read_text().splitlines()]
        assert loaded[split].to_list() == rows  # the same rows, in order
    rules = _load(out, tmp_path, "rules")
    assert {split: rules[split].num_rows for split in rules} == {"train": 4, "test": 3}

    header = _header(out)
    assert header["license"] == "apache-2.0" and header["divlab"]["version"] == manifest["divlab_version"]
    assert header["divlab"]["config"] == json.loads(json.dumps(SMALL.to_dict()))  # the generating config
    assert "string rewrite" in (out / CARD).read_text()  # the task's own description
    # The card is derived from the manifest and not in its checksums: verification is unchanged.
    assert CARD not in manifest["files"] and all(verify_checksums(out).values())


def test_the_card_is_byte_identical_when_the_dataset_is_regenerated(tmp_path):
    generate_rewrite(SMALL, tmp_path / "a", progress=False)
    generate_rewrite(SMALL, tmp_path / "b", progress=False)
    assert (tmp_path / "a" / CARD).read_bytes() == (tmp_path / "b" / CARD).read_bytes()


def test_parquet_splits_load_by_the_card(tmp_path):
    out = tmp_path / "pq"
    manifest = generate_rewrite(SMALL.replace(format="parquet"), out, progress=False)
    loaded = _load(out, tmp_path)
    assert {s: loaded[s].num_rows for s in loaded} == {s: e["rows"] for s, e in manifest["splits"].items()}
    assert all(entry["path"].endswith(".parquet") for entry in _header(out)["configs"][0]["data_files"])


def test_a_mixture_has_a_card_with_other_licence_and_its_sources(tmp_path):
    recipe = load_recipe("code-cpu/alpaca-100", {
        "counts.general": 10, "budget": 40,
        "sources.code.path": str(SHARED_DATA / "code_alpaca" / "code_alpaca_2k.json.gz"),
        "sources.general.path": str(SHARED_DATA / "alpaca" / "seed_tasks.jsonl.gz")})
    out = build_mixture(recipe, tmp_path / "mix")
    loaded = _load(out, tmp_path)
    assert list(loaded) == ["train"] and loaded["train"].num_rows == 40
    assert sorted(set(loaded["train"]["source"])) == ["code", "general"]
    header = _header(out)
    assert header["license"] == "other" and set(header["divlab"]["sources"]) == {"code", "general"}
    assert header["divlab"]["counts"] == {"code": 30, "general": 10}
