"""divlab as a user gets it: a wheel built from the source, installed into a fresh virtualenv outside the
repository, run from another directory. Presets, reference data and templates must all come from the wheel.

The wheel's dependencies (torch, transformers, sentence-transformers ...) are borrowed from the running
environment through a `.pth` line rather than reinstalled (that would take minutes and the hub-less machines
only have torch as a local wheel). A plain path line in a .pth file is not scanned for further .pth files, so
an editable install of the checkout in that environment stays invisible: divlab itself can only come from
the wheel, and the tests assert it. ~45 s on the 2-core machine (wheel 2 s, reproduce 20-30 s,
diversity 10 s).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "divlab"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"  # built from a copy, so that the checkout gets no build/ or egg-info
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(root / "dist"), str(source)], check=True, capture_output=True)
    (wheel,) = (root / "dist").glob("divlab-*.whl")

    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False, symlinks=True)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True, capture_output=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "zz_divlab_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DIVLAB_DATA", "PYTHONHOME")}
    env["OMP_NUM_THREADS"] = "1"
    return {"wheel": wheel, "venv": env_dir, "site": site, "cwd": elsewhere, "env": env}


def divlab(installed: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(installed["venv"] / "bin" / "divlab"), *args], cwd=installed["cwd"],
                            env=installed["env"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"divlab {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}"
    return result


def test_the_wheel_holds_every_data_file_of_the_package(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    data = [p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts]
    assert any(p.parent.name == "reference" for p in data) and any("presets" in p.parts for p in data)
    missing = [str(p.relative_to(PACKAGE.parent)) for p in data if str(p.relative_to(PACKAGE.parent)) not in names]
    assert not missing, f"package files left out of the wheel: {missing}"


def test_divlab_is_imported_from_the_wheel_not_the_checkout(installed):
    where = subprocess.run([str(installed["venv"] / "bin" / "python"), "-c",
                            "import divlab, divlab.preset_files as p; print(divlab.__file__); "
                            "print(p.preset_folder())"],
                           cwd=installed["cwd"], env=installed["env"], capture_output=True, text=True, check=True)
    module, presets = where.stdout.split()
    assert Path(module).is_relative_to(installed["site"]) and Path(presets).is_relative_to(installed["site"])
    assert not Path(module).is_relative_to(REPO)


def test_help_generate_reproduce_and_diversity_run_from_another_directory(installed):
    cwd = installed["cwd"]
    helped = divlab(installed, "--help").stdout
    assert all(command in helped for command in ("generate", "train", "reproduce", "diversity", "evaluate"))

    divlab(installed, "generate", "--preset", "smoke", "--out", "data", "--quiet")
    manifest = json.loads((cwd / "data" / "manifest.json").read_text())
    assert manifest["task"] == "rewrite" and set(manifest["files"]) >= {"train.jsonl", "test.jsonl"}

    # The sweep's workers import divlab too; from a wheel, no git checkout lies around them.
    out = divlab(installed, "reproduce", "e1", "--preset", "smoke", "--out", "e1", "--quiet", "--workers", "1").stdout
    assert "3 done, 0 failed" in out
    page = (cwd / "e1" / "report" / "index.html").read_text()
    assert 'class="verdict"' in page and "<img" in page
    with sqlite3.connect(cwd / "e1" / "results.sqlite") as store:
        produced = [json.loads(r)["produced_by"] for (r,) in store.execute("SELECT result FROM cells")]
    assert produced and all(p["divlab"] and p["divlab_commit"] is None for p in produced)

    rows = [{"instruction": f"Write a function {i} that adds {i} to each of {i % 7} numbers"} for i in range(30)]
    (cwd / "small.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    divlab(installed, "diversity", "small.jsonl", "data", "--out", "div", "--sample", "30", "--quiet")
    measured = json.loads((cwd / "div" / "diversity.json").read_text())
    assert measured["datasets"]["small.jsonl"]["size"] == 30 and (cwd / "div" / "index.html").is_file()
