"""The targets of issue 18 beside the figures the benches last wrote into bench/results/, one table
for both engines: `python -m bench.targets` (the last step of `make bench`); the table is printed
and kept in bench/results/targets.md.  A figure no bench has written yet reads "not measured"."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from bench.foundation import RESULTS

ENGINES = ("sqlite", "postgis")


@dataclasses.dataclass(frozen=True)
class Target:
    label: str
    results: str  # bench/results/<results>.json: a list with one object per engine
    path: tuple[str, ...]  # keys down to the figure
    limit: float
    unit: str
    at_least: bool = False  # a rate: the figure must reach the limit, not stay under it


TARGETS = (
    Target("sign-in → county drawn, cold", "browser-views", ("now", "cold", "drawn_s"), 1.5, "s"),
    Target("sign-in → county drawn, warm", "browser-views", ("now", "warm", "drawn_s"), 1.0, "s"),
    Target("drill-down click → drawn", "browser-views", ("now", "drill_down", "drawn_s"), 0.8, "s"),
    Target("websocket per map rerun", "browser-views", ("now", "drill_down", "ws_kb"), 300, "KB"),
    Target("websocket per wall-screen refresh", "browser-views", ("now", "screen", "ws_kb_per_refresh"), 100, "KB"),
    Target("grid panel (server)", "panels-county", ("grid_panel_s",), 0.3, "s"),
    Target("case panel (server)", "panels-county", ("case_panel_s",), 0.3, "s"),
    Target("per-minute figures of every grid", "minute-figures-county", ("grid_figures_s",), 0.2, "s"),
    Target("per-minute county figures", "minute-figures-county", ("county_figures_s",), 0.2, "s"),
    Target("fixes import", "patrols-county", ("import_fixes_per_s",), 50_000, "rows/s", at_least=True),
    Target("statistics, county month", "statistics-county", ("county_month_s",), 1.0, "s"),
    Target("assessment, county month", "assessment-county", ("county_month_s",), 1.0, "s"),
)


def read_figure(target: Target, engine: str, results: Path = RESULTS) -> float | None:
    path = results / f"{target.results}.json"
    if not path.exists():
        return None
    for entry in json.loads(path.read_text()):
        if entry.get("engine") != engine:
            continue
        value = entry
        for key in target.path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return float(value)
    return None


def verdict(target: Target, figure: float | None) -> str:
    if figure is None:
        return "not measured"
    met = figure >= target.limit if target.at_least else figure <= target.limit
    return "met" if met else "not met"


def targets_table(results: Path = RESULTS) -> str:
    lines = [
        "| target | limit | " + " | ".join(ENGINES) + " |",
        "|---|---|" + "---|" * len(ENGINES),
    ]
    for target in TARGETS:
        sign = "≥" if target.at_least else "≤"
        cells = []
        for engine in ENGINES:
            figure = read_figure(target, engine, results)
            shown = "—" if figure is None else f"{figure:g} {target.unit}"
            cells.append(f"{shown} ({verdict(target, figure)})")
        lines.append(f"| {target.label} | {sign} {target.limit:g} {target.unit} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    table = targets_table()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "targets.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
