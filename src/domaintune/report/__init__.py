"""The run report: one self-contained `report.html` per run directory."""

from domaintune.report.html import build_report, write_report

__all__ = ["build_report", "write_report"]
