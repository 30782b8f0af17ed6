"""Making a set of grid polygons a correctly noded coverage (STORE-NOTES.md, "Coverages that are
almost, but not exactly, noded").

Grid files drawn in desktop GIS tools, or cut from other polygons, have neighbours whose shared
edges do not share vertices: T-junctions, vertices a few millimetres apart, slivers.  Each polygon
is valid, but coverage operations (`coverage_union`, `coverage_simplify`) need the neighbours'
edges to be the same line.  Noding rebuilds the coverage from its linework: every grid boundary
is snap-rounded to a ~1 cm lattice and noded against every other (a vertex wherever two boundaries
cross or touch), the faces of that linework are polygonized, and each face goes to the grid that
holds it.  Faces held by two grids are overlaps, faces held by
none are gaps; the thin ones (slivers) join the neighbour they share the longest edge with, the
wide ones are reported (overlaps) or kept as holes (gaps: a lake between villages is real).
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo.crs import WGS84, metric_crs_for
from geo.partition import as_multipolygons

SNAP_DEG = 1e-7  # ≈ 1 cm: stored grid vertices lie on this lattice, so noding twice gives the same
SLIVER_WIDTH_M = 0.5  # a gap or overlap narrower than this on average is digitising noise
NO_OWNER = -1


@dataclasses.dataclass(frozen=True)
class Overlap:
    """Two grids claiming the same ground over more than a sliver (indices into the input)."""

    first: int
    second: int
    area_m2: float


@dataclasses.dataclass(frozen=True)
class NodedCoverage:
    geometries: NDArray[np.object_]  # one MultiPolygon per input grid, WGS84; None where nothing is left
    slivers_absorbed: int  # gap and overlap faces given to a neighbour
    overlaps: tuple[Overlap, ...]  # wide overlaps, given to the grid first in order meanwhile


def _metric_crs(geoms: NDArray[np.object_]) -> str:
    """The Gauss–Krüger zone (metres) of the middle of `geoms` (WGS84), for widths and areas."""
    return metric_crs_for(float(shapely.centroid(shapely.envelope(shapely.union_all(shapely.envelope(geoms)))).x))


def snap_to_lattice(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """WGS84 polygons with every vertex on the SNAP_DEG lattice (a no-op for what is on it)."""
    return shapely.set_precision(np.asarray(geoms, dtype=object), SNAP_DEG)


def same_shape(first: NDArray[np.object_], second: NDArray[np.object_]) -> NDArray[np.bool_]:
    """Element-wise: whether two WGS84 polygons are the same grid up to noding, i.e. they differ
    by slivers only (e.g. a file's grid and the noded copy stored from it)."""
    first, second = np.asarray(first, dtype=object), np.asarray(second, dtype=object)
    if len(first) == 0:
        return np.zeros(0, dtype=bool)
    metric = _metric_crs(first)
    a = gpd.GeoSeries(first, crs=WGS84).to_crs(metric).to_numpy()
    b = gpd.GeoSeries(second, crs=WGS84).to_crs(metric).to_numpy()
    parts, pair = shapely.get_parts(shapely.symmetric_difference(a, b), return_index=True)
    wide = shapely.area(parts) > 0
    wide[wide] = _mean_width(parts[wide]) >= SLIVER_WIDTH_M
    return np.bincount(pair[wide], minlength=len(first)) == 0


def needs_noding(geoms: NDArray[np.object_]) -> bool:
    """Whether `geoms` (polygons, any CRS) fail to be a correctly noded, overlap-free coverage."""
    return len(geoms) > 1 and not shapely.coverage_is_valid(np.asarray(geoms, dtype=object))


def _mean_width(faces: NDArray[np.object_]) -> NDArray[np.float64]:
    """2·area / perimeter: the width of a long strip, half the side of a square."""
    return 2 * shapely.area(faces) / np.maximum(shapely.length(faces), 1e-12)


def _longest_shared_edge(orphans: NDArray[np.intp], faces: NDArray[np.object_], owner: NDArray[np.intp]) -> None:
    """Give each face in `orphans` (owner NO_OWNER) the owner of the face it shares the longest
    boundary with: a grid's own faces first; a sliver touching only other slivers takes its owner
    from them in a later round."""
    settled = np.flatnonzero(owner != NO_OWNER)
    for _ in range(3):
        waiting = orphans[owner[orphans] == NO_OWNER]
        if len(waiting) == 0 or len(settled) == 0:
            return
        left, right = shapely.STRtree(faces[settled]).query(faces[waiting], predicate="intersects")
        shared = shapely.length(
            shapely.intersection(shapely.boundary(faces[waiting[left]]), shapely.boundary(faces[settled[right]]))
        )
        order = np.lexsort((-shared, left))
        left, right, shared = left[order], right[order], shared[order]
        first = np.r_[True, left[1:] != left[:-1]] & (shared > 0)
        owner[waiting[left[first]]] = owner[settled[right[first]]]
        settled = np.flatnonzero(owner != NO_OWNER)


def node_coverage(geoms: NDArray[np.object_]) -> NodedCoverage:
    """The grids `geoms` (WGS84 polygons, in priority order: an overlap goes to the earlier one)
    as a correctly noded coverage in WGS84."""
    geoms = np.asarray(geoms, dtype=object)
    # Snap-rounded to the storage lattice: vertices already on it stay put, so noding an imported
    # coverage again (a re-import) reproduces it vertex for vertex.
    lines = shapely.union_all(shapely.boundary(geoms), grid_size=SNAP_DEG)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    inner = shapely.point_on_surface(faces)
    face_idx, grid_idx = shapely.STRtree(geoms).query(inner, predicate="within")
    holders = np.bincount(face_idx, minlength=len(faces))
    # Earliest holder first: overlaps go to it until the wide ones are resolved by hand.
    order = np.lexsort((grid_idx, face_idx))
    face_idx, grid_idx = face_idx[order], grid_idx[order]
    first = np.r_[True, face_idx[1:] != face_idx[:-1]] if len(face_idx) else np.zeros(0, dtype=bool)
    owner = np.full(len(faces), NO_OWNER, dtype=np.intp)
    owner[face_idx[first]] = grid_idx[first]

    metric = _metric_crs(geoms)
    faces_m = gpd.GeoSeries(faces, crs=WGS84).to_crs(metric).to_numpy()
    thin = _mean_width(faces_m) < SLIVER_WIDTH_M
    overlap_slivers = np.flatnonzero(thin & (holders > 1))
    owner[overlap_slivers] = NO_OWNER
    gap_slivers = np.flatnonzero(thin & (holders == 0))
    orphans = np.concatenate([overlap_slivers, gap_slivers])
    _longest_shared_edge(orphans, faces, owner)
    # An overlap sliver no neighbour edge reaches stays with its first holder.
    stranded = overlap_slivers[owner[overlap_slivers] == NO_OWNER]
    owner[stranded] = grid_idx[first][np.searchsorted(face_idx[first], stranded)]

    overlaps = _wide_overlaps(faces_m, face_idx, grid_idx, holders, thin)
    kept = owner != NO_OWNER
    merged = gpd.GeoDataFrame({"owner": owner[kept]}, geometry=faces[kept], crs=WGS84).dissolve(
        by="owner", method="coverage"
    )
    out = np.full(len(geoms), None, dtype=object)
    out[merged.index.to_numpy()] = as_multipolygons(merged.geometry.to_numpy())
    absorbed = int(np.count_nonzero(owner[orphans] != NO_OWNER))
    return NodedCoverage(geometries=out, slivers_absorbed=absorbed, overlaps=overlaps)


def _wide_overlaps(
    faces: NDArray[np.object_],
    face_idx: NDArray[np.intp],
    grid_idx: NDArray[np.intp],
    holders: NDArray[np.intp],
    thin: NDArray[np.bool_],
) -> tuple[Overlap, ...]:
    wide = (holders[face_idx] > 1) & ~thin[face_idx]
    frame = pd.DataFrame({"face": face_idx[wide], "grid": grid_idx[wide]})
    if frame.empty:
        return ()
    pairs = frame.merge(frame, on="face")
    pairs = pairs[pairs["grid_x"] < pairs["grid_y"]]
    pairs = pairs.assign(area=shapely.area(faces[pairs["face"].to_numpy()]))
    totals = pairs.groupby(["grid_x", "grid_y"], sort=True)["area"].sum()
    return tuple(Overlap(int(a), int(b), float(area)) for (a, b), area in totals.items())


def union_coverage(geoms: NDArray[np.object_], keys: NDArray[np.object_]) -> gpd.GeoSeries:
    """The union of the polygons `geoms` sharing each key, indexed by key: the fast coverage union
    when they form a noded coverage, else the general union (a store edited by hand, or written
    before the import noded coverages, must still draw)."""
    frame = gpd.GeoDataFrame({"key": keys}, geometry=list(geoms), crs=WGS84)
    if frame.empty:
        return gpd.GeoSeries([], crs=WGS84)
    try:
        return frame.dissolve(by="key", method="coverage").geometry
    except shapely.errors.GEOSException:
        return frame.dissolve(by="key").geometry
