"""Layers point down only: no divlab module imports one of a higher layer, or a sibling package of its own
layer (divlab.layers), at module level or inside a function."""

import ast
from pathlib import Path

from divlab.layers import LAYERS, layer_of, may_import, package_of

SRC = Path(__file__).resolve().parents[1] / "src" / "divlab"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> list[tuple[str, int]]:
    """(divlab module imported, line) for every import in the file; relative imports resolved."""
    found = []
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.append((base, node.lineno))
    return [(name, line) for name, line in found if name == "divlab" or name.startswith("divlab.")]


def violations() -> list[str]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        for target, line in _imports(path, module):
            if not may_import(module, target):
                out.append(f"{path.relative_to(SRC.parent)}:{line} ({package_of(module)}, layer {layer_of(module)}) "
                           f"imports {target} ({package_of(target)}, layer {layer_of(target)})")
    return out


def test_every_package_has_a_layer():
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    assert packages == {name for layer in LAYERS[1:] for name in layer} - {"cli"}
    assert package_of("divlab.cli") == "cli" and package_of("divlab.registry") == "plumbing"


def test_no_package_imports_a_higher_layer_or_a_sibling():
    assert not violations(), "imports pointing up:\n" + "\n".join(violations())


def test_the_scan_sees_function_level_imports(tmp_path):
    sample = SRC / "markov" / "engine.py"
    found = {name for name, _ in _imports(sample, "divlab.markov.engine")}
    assert all(layer_of(name) <= layer_of("divlab.markov.engine") for name in found)
    probe = tmp_path / "probe.py"
    probe.write_text("def late():\n    from divlab.report.common import plt\n")
    assert [name for name, _ in _imports(probe, "divlab.diversity.maps")] == ["divlab.report.common"]
    assert not may_import("divlab.diversity.maps", "divlab.report.common")  # up
    assert not may_import("divlab.evaluate.generation", "divlab.finetune.trainer")  # a sibling
    assert may_import("divlab.report.page", "divlab.sweep.store") and may_import("divlab.markov.engine", "divlab.errors")
    assert layer_of("divlab.cli") == len(LAYERS) - 1 and layer_of("divlab.errors") == 0
