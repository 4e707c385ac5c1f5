import json
from collections import Counter

import pytest

from divlab.mix import RecipeError, SourceError, build_mixture, load_recipe, load_source
from tests.conftest import SHARED_DATA, run_cli

CODE = str(SHARED_DATA / "code_alpaca" / "code_alpaca_2k.json.gz")
SEEDS = str(SHARED_DATA / "alpaca" / "seed_tasks.jsonl.gz")


def _recipe(k: int, **extra):
    return load_recipe("code-cpu/alpaca-100", {"counts.general": k, "sources.code.path": CODE,
                                                "sources.general.path": SEEDS, **extra})


def _manifest(path):
    return json.loads((path / "manifest.json").read_text())


def test_exact_counts_deterministic_and_nested(tmp_path):
    a = build_mixture(_recipe(100), tmp_path / "a")
    rows = [json.loads(line) for line in (a / "train.jsonl").read_text().splitlines()]
    assert Counter(r["source"] for r in rows) == {"code": 900, "general": 100}
    assert all(r["prompt"] and isinstance(r["completion"], str) for r in rows)  # one Code Alpaca output is empty
    manifest = _manifest(a)
    assert manifest["counts"] == {"code": 900, "general": 100} and len(manifest["examples"]) == 1000
    assert len({(e["source"], e["index"]) for e in manifest["examples"]}) == 1000  # without replacement

    again = build_mixture(_recipe(100), tmp_path / "again")
    assert _manifest(again)["examples"] == manifest["examples"]
    assert (again / "train.jsonl").read_bytes() == (a / "train.jsonl").read_bytes()
    other_seed = build_mixture(_recipe(100, seed=1), tmp_path / "seed1")
    assert _manifest(other_seed)["examples"] != manifest["examples"]

    # Replacing more: the 850 code examples are a subset of the 900, the 100 general ones of the 150.
    b = _manifest(build_mixture(_recipe(150), tmp_path / "b"))
    chosen = lambda m, s: {e["index"] for e in m["examples"] if e["source"] == s}  # noqa: E731
    assert chosen(b, "code") < chosen(manifest, "code") and chosen(manifest, "general") < chosen(b, "general")


def test_add_mode_and_the_cli(tmp_path):
    recipe = tmp_path / "add.toml"
    recipe.write_text(f'name = "add"\nmode = "add"\n[sources.code]\nformat = "alpaca"\npath = "{CODE}"\n'
                      f'[sources.mbpp]\nformat = "mbpp"\npath = "{SHARED_DATA / "mbpp" / "mbpp.jsonl.gz"}"\n'
                      '[counts]\ncode = 30\nmbpp = 20\n')
    result = run_cli("mix", str(recipe), "--out", str(tmp_path / "out"))
    assert "50 examples (code 30, mbpp 20)" in result.stdout
    rows = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert Counter(r["source"] for r in rows) == {"code": 30, "mbpp": 20}


def test_bad_input_fails_before_writing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RecipeError, match="'general' holds 175 examples, the recipe asks for 500"):
        build_mixture(_recipe(500), out)
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    with pytest.raises(RecipeError, match="exceed the budget"):
        _recipe(2000)

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "input": "", "output": "b"}\n{"instruction": "c", "input": ""}\n')
    with pytest.raises(SourceError, match=r"bad.jsonl: record 2: field 'output' missing"):
        load_source("x", "alpaca", str(bad))
    bad.write_text('{"instruction": "a", "output": "b"}\n{oops\n')
    with pytest.raises(SourceError, match=r"bad.jsonl: line 2: not valid JSON"):
        load_source("x", "alpaca", str(bad))
    with pytest.raises(SourceError, match="unknown format 'dolly'"):
        load_source("x", "dolly", str(bad))


def test_hub_name_offline_says_which_local_file_to_pass(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    failed = run_cli("mix", "code-paper/oss-alpaca-2k", "--out", str(tmp_path / "o"), check=False,
                     env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert failed.returncode == 2
    assert "ise-uiuc/Magicoder-OSS-Instruct-75K" in failed.stderr and "path =" in failed.stderr
    assert not (tmp_path / "o").exists()


def test_adapters_map_each_format():
    from divlab.mix.sources import ADAPTERS

    assert ADAPTERS["sharegpt"]({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}) \
        .completion == "yo"
    assert ADAPTERS["oss_instruct"]({"problem": "p", "solution": "s"}).prompt == "p"
    cot = ADAPTERS["cot_collection"]({"source": "q", "rationale": "because", "target": "42"})
    assert cot.completion.endswith("So the answer is 42")
    assert ADAPTERS["openorca"]({"system_prompt": "", "question": "q", "response": "r"}).prompt == "q"
