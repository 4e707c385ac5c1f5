"""Sweeps: cells keyed by config hash, an SQLite result store, local and Ray backends."""

from divlab.sweep.runner import SweepError, run_sweep, sweep_status
from divlab.sweep.store import ResultStore

__all__ = ["ResultStore", "SweepError", "run_sweep", "sweep_status"]
