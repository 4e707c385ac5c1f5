import json
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divlab.errors import RunDirError
from divlab.data import DatasetDirError, load_split, read_manifest, read_rows, verify_checksums
from divlab.tasks.rewrite import RewriteConfig, generate_rewrite
from divlab.tasks.rewrite.families import mirror, periodic, repeat
from divlab.tasks.rewrite.sampling import allocate_power, remove_occurrences


def make(tmp_path, name="ds", **values):
    base = dict(alphabet="abcdef", x_len=(1, 3), y_len=(1, 3), z_len=(10, 12), num_train_rules=30, budget=600,
                num_test_rules=10, num_test_examples=200, num_seen_test_examples=100)
    config = RewriteConfig.from_dict({**base, **values})
    out = tmp_path / name
    return config, out, generate_rewrite(config, out, progress=False)


def rows(directory, split):
    return list(read_rows(directory, split))


def check_invariants(config, directory):
    rules = {split: [json.loads(line) for line in open(directory / f"rules_{split}.jsonl")] for split in ("train", "test")}
    train_pairs = {(r["x"], r["y"]) for r in rules["train"]}
    test_pairs = {(r["x"], r["y"]) for r in rules["test"]}
    assert len(train_pairs) == config.num_train_rules and len(test_pairs) == config.num_test_rules
    assert not train_pairs & test_pairs
    if config.disjoint_x:
        assert not {x for x, _ in train_pairs} & {x for x, _ in test_pairs}
    for split, rule_split in (("train", "train"), ("test", "test"), ("test_seen", "train")):
        for row in rows(directory, split):
            rule = rules[rule_split][row["rule_id"]]
            x, y, z = row["x"], row["y"], row["z"]
            assert (x, y) == (rule["x"], rule["y"])
            assert row["split"] == split
            assert config.z_len[0] <= len(z) <= config.z_len[1]
            assert set(z) <= set(config.alphabet)
            assert row["target"] == z.replace(x, y, 1)
            assert row["occurrences"] == z.count(x)
            assert row["has_op"] == (x in z)
            if not config.allow_identity:
                assert x != y


def test_worked_rows_and_manifest(tmp_path):
    config, out, manifest = make(tmp_path, noop_fraction=0.25, occurrences=[1, 2])
    check_invariants(config, out)
    assert manifest["splits"]["train"]["rows"] == 600
    assert manifest["splits"]["train"]["no_op"] == 150  # exactly 25 %
    assert manifest["examples_per_rule"]["train"] == {"20": 30}
    assert manifest["config"] == config.to_dict()
    assert all(verify_checksums(out).values())
    assert set(manifest["files"]) == {"train.jsonl", "test.jsonl", "test_seen.jsonl", "rules_train.jsonl", "rules_test.jsonl"}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    alphabet=st.sampled_from(["ab", "abc", "abcdefgh", "αβγδ"]),
    x_max=st.integers(1, 3),
    noop=st.sampled_from([0.0, 0.3, 1.0]),
    occurrences=st.sampled_from([1, 2, [1, 3]]),
    seed=st.integers(0, 10),
    disjoint_x=st.booleans(),
)
def test_generated_rows_satisfy_the_task_definition(tmp_path_factory, alphabet, x_max, noop, occurrences, seed, disjoint_x):
    tmp_path = tmp_path_factory.mktemp("prop")
    try:
        config, out, _ = make(
            tmp_path, alphabet=alphabet, x_len=(1, x_max), y_len=(1, 2), z_len=(9, 12), noop_fraction=noop,
            occurrences=occurrences, seed=seed, num_train_rules=8, num_test_rules=3, budget=80, num_test_examples=30,
            num_seen_test_examples=20, disjoint_x=disjoint_x,
        )
    except Exception as error:  # tiny spaces can be exhausted: that must be a clear ConfigError
        from divlab.tasks import ConfigError

        assert isinstance(error, ConfigError), error
        return
    check_invariants(config, out)


def test_noop_inputs_never_contain_x_even_for_one_letter_patterns(tmp_path):
    config, out, _ = make(tmp_path, alphabet="ab", x_len=(1, 2), y_len=(1, 2), num_train_rules=4, num_test_rules=1,
                          noop_fraction=1.0, budget=400, disjoint_x=False)
    noop_rows = [r for r in rows(out, "train") if not r["has_op"]]
    assert len(noop_rows) == 400
    assert all(r["x"] not in r["z"] and r["target"] == r["z"] and r["occurrences"] == 0 for r in noop_rows)


@settings(max_examples=200, deadline=None)
@given(z=st.text(alphabet="ab", min_size=1, max_size=20), x=st.text(alphabet="ab", min_size=1, max_size=3), seed=st.integers(0, 99))
def test_remove_occurrences_always_terminates_without_x(z, x, seed):
    out = remove_occurrences(z, x, "ab", np.random.default_rng(seed))
    assert len(out) == len(z) and x not in out


def test_planted_occurrences_are_all_there(tmp_path):
    config, out, manifest = make(tmp_path, alphabet="abcdefghijklmnopqrstuvwxyz", x_len=(4, 5), y_len=(1, 3),
                                 z_len=(30, 30), occurrences=[1, 3, 5], num_train_rules=40, budget=3000)
    counts = Counter(r["occurrences"] for r in rows(out, "train"))
    # With 4-5 letter patterns over 26 letters accidental extra copies are rare; planted ones are never lost.
    assert set(counts) <= {1, 2, 3, 4, 5, 6}
    assert all(counts[k] > 800 for k in (1, 3, 5))


def test_same_config_and_seed_give_byte_identical_files(tmp_path):
    _, first, _ = make(tmp_path, "a", noop_fraction=0.2, occurrences=[1, 2], seed=5)
    _, second, _ = make(tmp_path, "b", noop_fraction=0.2, occurrences=[1, 2], seed=5)
    _, third, _ = make(tmp_path, "c", noop_fraction=0.2, occurrences=[1, 2], seed=6)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "train.jsonl").read_bytes() != (third / "train.jsonl").read_bytes()


def test_test_rules_do_not_depend_on_instruction_count(tmp_path):
    _, small, _ = make(tmp_path, "small", num_train_rules=10, budget=100)
    _, large, _ = make(tmp_path, "large", num_train_rules=40, budget=400)
    assert (small / "rules_test.jsonl").read_bytes() == (large / "rules_test.jsonl").read_bytes()
    small_rules = (small / "rules_train.jsonl").read_text().splitlines()
    large_rules = (large / "rules_train.jsonl").read_text().splitlines()
    strip = lambda line: {k: v for k, v in json.loads(line).items() if k != "examples"}  # noqa: E731
    assert [strip(l) for l in small_rules] == [strip(l) for l in large_rules[:10]]  # nested instruction sets


def test_families_build_the_documented_shapes(tmp_path):
    assert repeat("abc", 3) == "aaabbbccc"
    assert periodic("abc", 2) == "abcabc"
    assert mirror("abc", 3) == "abccbaabc"
    config, out, _ = make(
        tmp_path, x_len=(6, 12), y_len=(6, 12), z_len=(20, 20),
        families=[{"name": "repeat", "k": [3, 4]}, {"name": "periodic", "k": [2, 3]}, {"name": "mirror", "k": [3, 3]}],
        test_families="free",
    )
    check_invariants(config, out)
    builders = {"repeat": repeat, "periodic": periodic, "mirror": mirror}
    train_rules = [json.loads(l) for l in open(out / "rules_train.jsonl")]
    assert {r["family"] for r in train_rules} == {"repeat", "periodic", "mirror"}
    for rule in train_rules:
        k = rule["k"]
        for text in (rule["x"], rule["y"]):
            base_len = len(text) // k
            base = text[:base_len] if rule["family"] != "repeat" else text[::k]
            assert builders[rule["family"]](base, k) == text
    assert {json.loads(l)["family"] for l in open(out / "rules_test.jsonl")} == {"free"}


def test_power_law_allocation_is_skewed_and_recorded(tmp_path):
    counts = np.bincount(allocate_power(1000, 100_000, 0.2, np.random.default_rng(0)), minlength=1000)
    assert counts[0] > 0.2 * 100_000  # the top rule gets ~25 % at alpha 0.2 (brief §2.3)
    assert (counts >= 100).sum() < 250
    _, out, manifest = make(tmp_path, allocation="power", power_alpha=0.5, budget=2000)
    histogram = {int(k): v for k, v in manifest["examples_per_rule"]["train"].items()}
    assert sum(histogram.values()) == 30 and sum(k * v for k, v in histogram.items()) == 2000
    assert len(histogram) > 3


def test_examples_per_rule_sets_the_budget(tmp_path):
    _, _, manifest = make(tmp_path, budget=None, examples_per_rule=7)
    assert manifest["splits"]["train"]["rows"] == 210


def test_loads_as_hugging_face_dataset(tmp_path):
    _, out, _ = make(tmp_path)
    dataset = load_split(out, "test")
    assert len(dataset) == 200
    assert set(dataset.column_names) == {"x", "y", "z", "target", "has_op", "occurrences", "rule_id", "split", "family", "k"}


def test_parquet_format_round_trips(tmp_path):
    _, jsonl, _ = make(tmp_path, "j", seed=2)
    _, parquet, _ = make(tmp_path, "p", seed=2, format="parquet")
    assert rows(jsonl, "train") == rows(parquet, "train")
    assert len(load_split(parquet, "train")) == 600


def test_existing_directory_is_reused_only_with_the_same_config(tmp_path):
    config, out, manifest = make(tmp_path)
    before = (out / "train.jsonl").stat().st_mtime_ns
    assert generate_rewrite(config, out, progress=False) == manifest
    assert (out / "train.jsonl").stat().st_mtime_ns == before
    with pytest.raises(RunDirError, match="holds a different dataset .differs in: config.seed: 0 -> 9"):
        generate_rewrite(config.replace(seed=9), out, progress=False)
    assert (out / "train.jsonl").stat().st_mtime_ns == before


def test_failed_generation_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    import divlab.tasks.rewrite.generator as generator

    calls = []
    original = generator._write_split

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(generator, "_write_split", failing)
    with pytest.raises(KeyboardInterrupt):
        make(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_sigkill_mid_generation_never_leaves_a_complete_looking_dataset(tmp_path):
    out = tmp_path / "big"
    process = subprocess.Popen(
        [sys.executable, "-m", "divlab.cli", "generate", "--preset", "e1-paper", "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(".big.partial") and any(p.iterdir()) for p in tmp_path.iterdir()):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists()
    with pytest.raises(DatasetDirError):
        read_manifest(out)
    # The next run removes the dead process's partial directory and writes a complete dataset.
    make(tmp_path, "big")
    assert read_manifest(out)
    assert [p.name for p in tmp_path.iterdir()] == ["big"]
