import pytest

from divlab.tasks import ConfigError, get_task
from divlab.tasks.rewrite import RewriteConfig

SMALL = dict(num_train_rules=10, budget=100, num_test_rules=5, num_test_examples=20, num_seen_test_examples=10)


@pytest.mark.parametrize(
    "changes, field, value_text",
    [
        (dict(alphabet="ab", x_len=(1, 2), y_len=(1, 2), num_test_rules=50, num_test_examples=50), "num_test_rules", "50"),
        (dict(alphabet="abc", x_len=(1, 1), y_len=(1, 1), num_test_rules=1, num_train_rules=10), "num_train_rules", "10"),
        (dict(x_len=(1, 60)), "x_len", "[1, 60]"),
        (dict(noop_fraction=1.5), "noop_fraction", "1.5"),
        (dict(noop_fraction=-0.1), "noop_fraction", "-0.1"),
        (dict(alphabet="ab-c"), "alphabet", "ab-c"),
        (dict(alphabet="ab c"), "alphabet", "ab c"),
        (dict(alphabet="aab"), "alphabet", "aab"),
        (dict(alphabet="ab\x00"), "alphabet", "ab\\x00"),
        (dict(occurrences=3, x_len=(1, 20), z_len=(50, 50)), "occurrences", "3"),
        (dict(occurrences=[1, 0]), "occurrences", None),
        (dict(families=[{"name": "spiral", "k": [3, 4]}]), "families.name", "spiral"),
        (dict(families=[{"name": "repeat", "k": [3, 30]}]), "families.k", None),
        (dict(allocation="zipf"), "allocation", "zipf"),
        (dict(allocation="power"), "power_alpha", "None"),
        (dict(budget=5, num_train_rules=10), "budget", "5"),
        (dict(x_len=(5, 2)), "x_len", None),
        (dict(format="csv"), "format", "csv"),
    ],
)
def test_unsatisfiable_config_names_field_and_value(changes, field, value_text):
    values = {**SMALL, **changes}
    with pytest.raises(ConfigError) as info:
        RewriteConfig.from_dict(values)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}=")
    if value_text is not None:
        assert value_text in str(info.value)


def test_unknown_field_is_refused():
    with pytest.raises(ConfigError, match="unknown field") as info:
        RewriteConfig.from_dict({"num_rules": 3})
    assert info.value.field == "num_rules"


def test_unknown_preset_and_task():
    with pytest.raises(ConfigError, match="unknown preset"):
        get_task("rewrite").build_config("e9-paper")
    with pytest.raises(ConfigError, match="unknown task"):
        get_task("sudoku")


def test_presets_load_and_files_override(tmp_path):
    task = get_task("rewrite")
    for name in task.preset_names():
        assert isinstance(task.build_config(name), RewriteConfig)
    override = tmp_path / "mine.toml"
    override.write_text("examples_per_rule = 7\nnum_train_rules = 300\n")
    config = task.build_config("e1-paper", override, {"seed": 3})
    assert (config.num_train_rules, config.examples_per_rule, config.budget, config.seed) == (300, 7, None, 3)
    assert config.train_size == 2100


def test_mixtures_normalize():
    config = RewriteConfig.from_dict({**SMALL, "x_len": [1, 2], "z_len": [10, 10], "occurrences": {"1": 2, "5": 1}})
    assert config.occurrences == ((1, 2.0), (5, 1.0))
    config = RewriteConfig.from_dict({**SMALL, "families": [{"name": "mirror", "k": [3, 4]}, "repeat"]})
    assert [f.name for f in config.families] == ["mirror", "repeat"]


def test_config_round_trips_through_dict():
    config = get_task("rewrite").build_config("e4-paper")
    assert RewriteConfig.from_dict(config.to_dict()) == config
