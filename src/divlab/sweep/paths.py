"""Where a cell's files live inside a run directory. Datasets are shared by cells with the same dataset config."""

from __future__ import annotations

from pathlib import Path


def cell_paths(run_dir: Path, cell_id: str, config: dict) -> dict[str, Path]:
    from divlab.experiments.spec import config_hash

    return {
        "dataset": run_dir / "datasets" / config_hash({"dataset": config["dataset"]}),
        "run": run_dir / "cells" / cell_id,
    }
