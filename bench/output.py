"""How a benchmark run by hand reports: JSON and a table on stdout, JSON under results/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def report(name: str, result: dict[str, Any], table: str, *, quick: bool) -> Path:
    """Print ``result`` as JSON and ``table``; keep the JSON as results/<name>[-quick].json."""
    path = RESULTS / (f"{name}-quick.json" if quick else f"{name}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(table)
    return path
