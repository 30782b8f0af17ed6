"""`make bench` ends with one table of issue 18's targets beside the figures the benches wrote."""

from __future__ import annotations

import json

from bench.targets import TARGETS, targets_table


def test_the_table_judges_limits_and_rates_and_names_what_no_bench_measured(tmp_path) -> None:
    (tmp_path / "minute-figures-county.json").write_text(
        json.dumps([{"engine": "sqlite", "grid_figures_s": 0.15, "county_figures_s": 0.25}])
    )
    (tmp_path / "patrols-county.json").write_text(
        json.dumps([{"engine": "sqlite", "import_fixes_per_s": 60_000}, {"engine": "postgis", "import_fixes_per_s": 9}])
    )
    rows = {line.split(" | ")[0].lstrip("| "): line for line in targets_table(tmp_path).splitlines()[2:]}
    assert len(rows) == len(TARGETS)
    assert rows["per-minute figures of every grid"].endswith("| 0.15 s (met) | — (not measured) |")
    assert rows["per-minute county figures"].endswith("| 0.25 s (not met) | — (not measured) |")
    assert rows["fixes import"].endswith("| 60000 rows/s (met) | 9 rows/s (not met) |")
    assert "not measured" in rows["drill-down click → drawn"]
