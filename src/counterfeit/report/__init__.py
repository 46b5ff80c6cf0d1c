"""Views of run directories: one HTML page per run (`report`), one per comparison (`compare`),
and TensorBoard event files; all read the run directory, none changes it but for its own file."""

from counterfeit.report.compare import compare, write_comparison
from counterfeit.report.page import build_report, write_report

__all__ = ["build_report", "compare", "write_comparison", "write_report"]
