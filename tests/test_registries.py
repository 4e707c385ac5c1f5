"""Every registry divlab looks names up in has one shape: each entry loads and is listed, an unknown name is one
error that names it and lists the known ones, a "module:attr" is used as given, and an entry point of the
registry's group adds a name without editing divlab."""

import sys
import textwrap

import pytest

from divlab.codeeval.benchmarks import CODE_BENCHMARKS
from divlab.diversity.measures import MEASURES
from divlab.errors import ConfigError
from divlab.evalsuite.backends import BACKENDS
from divlab.evalsuite.benchmark import BENCHMARKS
from divlab.experiments.registry import KINDS
from divlab.registry import Registry, load_attribute
from divlab.tasks import TASKS

REGISTRIES = {"tasks": TASKS, "kinds": KINDS, "benchmarks": BENCHMARKS, "code benchmarks": CODE_BENCHMARKS,
              "measures": MEASURES, "backends": BACKENDS}
ENTRIES = [(name, entry) for name, registry in REGISTRIES.items() for entry in registry.names()]


@pytest.mark.parametrize("registry,name", ENTRIES)
def test_every_entry_loads_and_is_listed(registry, name):
    registry = REGISTRIES[registry]
    value = registry.get(name)
    assert value is not None and name in registry.describe()
    reference = registry.reference(name)
    if reference is not None:  # the same object by its "module:attr"
        assert load_attribute(reference) is value and registry.get(reference) is value


@pytest.mark.parametrize("registry", REGISTRIES)
def test_an_unknown_name_is_one_line_naming_it_and_the_known_ones(registry):
    registry = REGISTRIES[registry]
    with pytest.raises(ConfigError) as caught:
        registry.get("no-such-entry")
    message = str(caught.value)
    assert "no-such-entry" in message and "\n" not in message
    assert all(name in message for name in registry.names())
    with pytest.raises(ConfigError, match="cannot load"):
        registry.get("no_such_module_anywhere:THING")


def test_a_reference_to_the_wrong_kind_of_object_is_refused():
    with pytest.raises(ConfigError, match="is not a task"):
        TASKS.get("divlab.tasks.rewrite.config:RewriteConfig")


def test_an_entry_point_adds_a_name(tmp_path, monkeypatch):
    (tmp_path / "my_measures.py").write_text("def letters(texts):\n    return float(sum(map(len, texts)))\n")
    info = tmp_path / "my_measures-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-measures\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""\
        [divlab.measures]
        letters = my_measures:letters
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("diversity measure", "divlab.measures", "measures", builtin={"x": "math:floor"})
    assert registry.names() == ["letters", "x"]
    assert registry.get("letters")(["ab", "c"]) == 3.0
    sys.modules.pop("my_measures", None)


def test_a_suite_takes_a_benchmark_by_reference_and_knows_it_by_name():
    from divlab.evalsuite import SuiteConfig

    config = SuiteConfig.from_dict({"name": "mine", "benchmarks": ["divlab.evalsuite.benchmarks.gsm8k:BENCHMARK"]})
    assert config.benchmarks == ("gsm8k",)
