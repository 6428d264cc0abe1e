"""Findings as text for the terminal."""

from __future__ import annotations

import json

from rich.console import Console

from domaintune.diagnose.findings import Finding


def print_findings(found: dict[str, list[Finding]], console: Console) -> None:
    for stage, findings in found.items():
        console.rule(f"[bold]{stage}")
        if not findings:
            console.print("no findings: the curves look normal")
        for f in findings:
            colour = "yellow" if f.severity == "warning" else "cyan"
            steps = ", ".join(map(str, f.steps[:8])) + (" ..." if len(f.steps) > 8 else "")
            console.print(f"[{colour}]{f.name}[/] at step {steps}", highlight=False)
            console.print(f"  cause:    {f.cause}", highlight=False, soft_wrap=True)
            console.print(f"  advice:   {f.advice}", highlight=False, soft_wrap=True)
            console.print(
                f"  evidence: {json.dumps(f.evidence, ensure_ascii=False)}",
                highlight=False,
                soft_wrap=True,
                markup=False,
            )
