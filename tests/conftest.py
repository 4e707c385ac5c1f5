import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"

# One thread per test process: parallel workers and tests must not oversubscribe the two cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def run_cli(*args: str, check: bool = True, **kwargs):
    """Run the installed CLI in a subprocess (as a user would)."""
    import subprocess

    result = subprocess.run([sys.executable, "-m", "divlab.cli", *args], capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"divlab {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result
