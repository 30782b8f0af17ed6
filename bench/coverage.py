"""Benchmark of grid noding (issue 13) at the county scale: 2,000 grids of the county demo's own
layout, digitised again with millimetre noise (every vertex of every grid moved on its own, so no
shared edge shares vertices), measured side by side with the exact coverage in one run.

- `needs_noding` (the check every import and every map load makes),
- `node_coverage` (what an import of such a file pays once),
- `same_shape` (how a re-import recognises the grids it already stored),
- `simplify_grids` for the map on the exact, the noded and the unnoded coverage (the fallback an
  old or hand-edited store pays on each load of the map's shapes).

`python -m bench.coverage`; JSON lines on stdout and bench/results/coverage-county.json.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import numpy as np
import shapely

from geo.coverage import needs_noding, node_coverage, same_shape, snap_to_lattice
from geo.crs import WGS84
from geo.display import simplify_grids
from services.cli.demo import SCALES
from services.cli.demo.layout import build_layout, read_county_source
from tests.coverages import jitter_vertices

RESULTS = Path(__file__).resolve().parent / "results"
T = TypeVar("T")


def timed(run: Callable[[], T], repeat: int = 3) -> tuple[float, T]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    spec = SCALES["county"]
    layout = build_layout(
        read_county_source(),
        township_codes=spec.township_codes,
        villages_in_county=spec.villages_in_county,
        grids=spec.grids,
        households=spec.households,
        rng=np.random.default_rng(7),
    )
    grids = layout.areas[layout.areas["level"] == "grid"].reset_index(drop=True)
    exact = grids.geometry.to_numpy()
    spoiled = snap_to_lattice(jitter_vertices(exact, crs=WGS84, seed=3, jitter_m=0.003))
    results: list[dict[str, object]] = []

    def record(name: str, seconds: float, **extra: object) -> None:
        row = {"benchmark": name, "grids": len(exact), "seconds": round(seconds, 3), **extra}
        results.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)

    record("needs_noding exact", timed(lambda: needs_noding(exact))[0])
    seconds, verdict = timed(lambda: needs_noding(spoiled))
    record("needs_noding spoiled", seconds, answer=bool(verdict))
    seconds, noded = timed(lambda: node_coverage(spoiled), repeat=1)
    record(
        "node_coverage spoiled",
        seconds,
        slivers_absorbed=noded.slivers_absorbed,
        valid_after=bool(shapely.coverage_is_valid(noded.geometries)),
        vertices_before=int(shapely.get_num_coordinates(spoiled).sum()),
        vertices_after=int(shapely.get_num_coordinates(noded.geometries).sum()),
    )
    seconds, same = timed(lambda: same_shape(spoiled, noded.geometries))
    record("same_shape file vs stored", seconds, recognised=int(np.count_nonzero(same)))

    for label, geoms in (("exact", exact), ("noded", noded.geometries), ("unnoded (fallback)", spoiled)):
        frame = gpd.GeoDataFrame({"code": grids["code"], "name": grids["name"]}, geometry=geoms, crs=WGS84)
        record(f"simplify_grids {label}", timed(partial(simplify_grids, frame), repeat=2)[0])

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "coverage-county.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
