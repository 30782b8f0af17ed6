"""Benchmark of import (issue 3) at the county scale, SQLite and PostGIS measured in one run.

1. The county demo is generated, loaded into a scratch SQLite store and exported in the exchange
   formats (grids.gpkg; households.csv in GBK; workers.csv; incidents.csv; one day of fixes).
2. Each file is imported with `python -m services.cli import` into an empty SQLite store and an
   empty PostGIS database, in a child process: wall time, rows/s and peak memory (max RSS).
3. Point-to-grid join: `geo.assign.assign_grids` on all households against a per-point loop of
   `polygon.contains` over every grid, on a sample, in the same run.

`python -m bench.imports`; JSON lines on stdout and bench/results/imports-county.json.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

from bench.foundation import NOW
from devtools.pgcluster import throwaway_postgis
from geo.assign import assign_grids
from services.access.actor import Actor
from services.cli.bootstrap import open_store
from services.cli.demo import DemoCounty, generate_demo
from services.cli.demo.load import load_demo
from services.exchange.exports import export_fixes, export_grids, export_households, export_incidents, export_workers
from services.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
ORDER = (
    ("grids", "grids.gpkg"),
    ("households", "households.csv"),
    ("workers", "workers.csv"),
    ("incidents", "incidents.csv"),
    ("fixes", "fixes.csv"),
)
LOOP_SAMPLE = 2_000


def export_county(folder: Path) -> tuple[Path, DemoCounty]:
    demo = generate_demo("county", seed=7, now=NOW)
    store = open_store(Settings.from_env({"DATABASE_URL": f"sqlite:///{folder / 'source.db'}"}))
    load_demo(store.engine, demo)
    actor = Actor("bench", "基准测试", "county_admin", demo.county_code, (demo.county_code,))
    export_grids(store.session_factory, actor=actor, now=NOW).to_file(folder / "grids.gpkg")
    export_households(store.session_factory, actor=actor, now=NOW).to_csv(
        folder / "households.csv", index=False, encoding="gbk"
    )
    export_workers(store.session_factory, actor=actor, now=NOW).to_csv(folder / "workers.csv", index=False)
    export_incidents(store.session_factory, actor=actor, now=NOW).to_csv(folder / "incidents.csv", index=False)
    fixes = export_fixes(store.session_factory, actor=actor, now=NOW)
    last_day = fixes["ts"].str[:10].max()
    fixes[fixes["ts"].str.startswith(last_day)].to_csv(folder / "fixes.csv", index=False)
    store.engine.dispose()
    return folder, demo


def import_in_child(url: str, kind: str, path: Path) -> dict:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.imports", "--child", kind, str(path)],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"import {kind} failed:\n{done.stderr[-3000:]}")
    seconds = time.perf_counter() - start
    child = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "kind": kind,
        "rows": child["rows_read"],
        "seconds": round(seconds, 1),
        "rows_per_s": round(child["rows_read"] / seconds),
        "peak_rss_mb": child["peak_rss_mb"],
        "written": child["written"],
    }


def child(kind: str, path: str) -> None:
    import contextlib
    import io

    from services.cli.commands import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["import", kind, path])
    if code:
        raise SystemExit(code)
    summary = json.loads(buffer.getvalue().strip().splitlines()[-1])
    summary["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(summary, ensure_ascii=False))


def peak_rss_mb() -> int:
    """This process's peak resident memory.  VmHWM, not ru_maxrss: ru_maxrss survives exec, so a
    child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def join_benchmark(demo: DemoCounty) -> dict:
    areas = demo.tables["areas"]
    grids = areas[areas["level"] == "grid"]
    households = demo.tables["households"]
    points = shapely.points(households["lon"].to_numpy(), households["lat"].to_numpy())
    polygons, codes = grids["geom"].to_numpy(), grids["code"].to_numpy()
    start = time.perf_counter()
    hit = assign_grids(points, polygons, codes)
    vectorised_s = time.perf_counter() - start
    sample = points[np.random.default_rng(1).choice(len(points), LOOP_SAMPLE, replace=False)]
    start = time.perf_counter()
    for point in sample:  # the naive way, for comparison only
        for polygon in polygons:
            if polygon.contains(point):
                break
    loop_s = time.perf_counter() - start
    vectorised_rate, loop_rate = len(points) / vectorised_s, LOOP_SAMPLE / loop_s
    return {
        "step": "point_to_grid_join",
        "grids": len(polygons),
        "points": len(points),
        "assigned": int((hit >= 0).sum()),
        "vectorised_points_per_s": round(vectorised_rate),
        "loop_points_per_s": round(loop_rate),
        "speedup": round(vectorised_rate / loop_rate),
    }


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="minqing-bench-") as scratch:
        folder, demo = export_county(Path(scratch))
        results.append(join_benchmark(demo))
        print(json.dumps(results[-1]), flush=True)
        targets = [("sqlite", f"sqlite:///{folder / 'target.db'}")]
        with throwaway_postgis() as pg_url:
            targets.append(("postgis", pg_url))
            for engine, url in targets:
                for kind, name in ORDER:
                    results.append({"engine": engine, **import_in_child(url, kind, folder / name)})
                    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    (RESULTS / "imports-county.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
