"""Reports: figures and an HTML page built from the sweep database (never from typed-in numbers)."""

from divlab.report.html import write_report
from divlab.report.threshold import fit_threshold

__all__ = ["fit_threshold", "write_report"]
