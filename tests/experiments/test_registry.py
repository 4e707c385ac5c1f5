"""The experiment registry: every shipped preset loads, every kind has a report builder and a verdict for
each report its presets name, and no module of divlab imports one that imports it back."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from divlab.experiments import experiment_names, get_kind, kind_names, load_experiment
from divlab.experiments.spec import preset_names
from divlab.registry import load_attribute

SRC = Path(__file__).resolve().parents[2] / "src" / "divlab"


@pytest.mark.parametrize("experiment", experiment_names())
def test_every_shipped_preset_loads_with_a_known_report(experiment):
    names = preset_names(experiment)
    assert {"smoke", "cpu", "paper"} <= set(names)
    for preset in names:
        spec = load_experiment(experiment, preset)
        assert spec.cells(), (experiment, preset)
        report = spec.report.get("kind", experiment)
        assert report in spec.experiment_kind.reports, (experiment, preset, report)


@pytest.mark.parametrize("name", kind_names())
def test_every_kind_has_builders_and_verdicts(name):
    kind = get_kind(name)
    assert kind.name == name and kind.sections and kind.seed_fields and kind.reports
    assert callable(kind.resolve) and callable(kind.run)
    for report in kind.reports.values():
        assert callable(load_attribute(report.builder)) and callable(load_attribute(report.verdict))


def _imports(path: Path, module: str) -> set[str]:
    """divlab modules `module` imports anywhere in its file (module level and inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("divlab")}


def test_no_import_circle_in_divlab():
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {name: {m for m in _imports(path, name) if m in modules and m != name} for name, path in modules.items()}
    # Importing a module runs its packages' __init__ first: an edge to a package's module is also one to it.
    for name in graph:
        for target in list(graph[name]):
            parent = target.rsplit(".", 1)[0]
            while parent != "divlab" and parent in modules and not name.startswith(parent):
                graph[name].add(parent)
                parent = parent.rsplit(".", 1)[0]
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("argv", [["--help"], ["markov", "tests/fixtures/markov/binary_to_unary.txt", "101"],
                                  ["generate", "--list-presets"]])
def test_quick_commands_load_no_heavy_library(argv):
    code = ("import sys, runpy; sys.argv = ['divlab', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('divlab.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(m for m in ('torch', 'transformers', 'datasets', 'numpy', 'matplotlib') "
            "if m in sys.modules)), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                            cwd=SRC.parents[1])
    assert result.stderr.strip().splitlines()[-1:] in ([], [""]), result.stderr


def test_set_overrides_and_generated_flags_reach_the_configs(tmp_path):
    from tests.conftest import run_cli

    # reproduce --set changes every cell's config (so the cells are new) and is checked like the preset.
    out = tmp_path / "sweep"
    run_cli("reproduce", "e1", "--preset", "smoke", "--set", "train.epochs=2", "--set", "model.n_embd=16",
            "--workers", "1", "--threads", "1", "--no-report", "--quiet", "--out", str(out))
    from divlab.sweep.store import ResultStore

    with ResultStore(out) as store:
        configs = [row["config"] for row in store.rows("done")]
    assert len(configs) == 3 and all(c["train"]["epochs"] == 2 and c["model"]["n_embd"] == 16 for c in configs)
    bad = run_cli("reproduce", "e1", "--preset", "smoke", "--set", "train.nonsense=1", "--out", str(tmp_path / "b"),
                  check=False)
    assert bad.returncode == 2 and "nonsense=1: unknown training field" in bad.stderr
    assert bad.stderr.count("\n") == 1 and not (tmp_path / "b").exists()
    # train: flags generated from TrainConfig (--betas, --log-every) and --set for model and train fields.
    dataset = next((out / "datasets").iterdir())
    run = tmp_path / "run"
    run_cli("train", str(dataset), "--out", str(run), "--model", "micro", "--steps", "4", "--betas", "0.8", "0.9",
            "--log-every", "2", "--set", "model.n_embd=8", "--set", "lr=0.002", "--threads", "1", "--quiet")
    import json

    recorded = json.loads((run / "run_config.json").read_text())["train"]
    assert recorded["betas"] == [0.8, 0.9] and recorded["log_every"] == 2 and recorded["lr"] == 0.002
    assert recorded["model"]["n_embd"] == 8 and recorded["max_steps"] == 4
    assert [json.loads(line)["step"] for line in open(run / "metrics.jsonl")] == [2, 4]
    # finetune: a bad --set field is refused in one line before any model is loaded.
    bad = run_cli("finetune", "some-model", str(dataset), "--out", str(tmp_path / "ft"), "--set", "finetune.lora_q=3",
                  check=False)
    assert bad.returncode == 2 and "lora_q=3: unknown field" in bad.stderr and not (tmp_path / "ft").exists()
