"""Classes and colours of a choropleth: a few readable classes with a legend, colour-blind-safe
sequential ColorBrewer ramps."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

NO_DATA_COLOUR = "#e5e7eb"
RAMPS = {
    "reds": ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"),
    "oranges": ("#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603"),
    "blues": ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"),
    "purples": ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"),
    "greens": ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"),
}


@dataclasses.dataclass(frozen=True)
class LegendEntry:
    label: str
    colour: str


@dataclasses.dataclass(frozen=True)
class MapLegend:
    """What the grid colours mean: the figure's name and its classes."""

    title: str
    entries: tuple[LegendEntry, ...]


def _range_label(low: int, high: int) -> str:
    return f"{low}" if low == high else f"{low}–{high}"


def classify_counts(values: pd.Series, ramp: str) -> tuple[pd.Series, list[LegendEntry]]:
    """Zero gets its own pale class (an empty grid must not look like a loaded one); positive
    counts are split at their quartiles into at most four whole-number classes."""
    colours = RAMPS[ramp]
    result = pd.Series(colours[0], index=values.index)
    legend = [LegendEntry("0", colours[0])]
    positive = values[values > 0]
    if positive.empty:
        return result, legend
    edges = np.unique(np.floor(np.quantile(positive, [0, 0.25, 0.5, 0.75, 1.0])).astype(int))
    if len(edges) == 1:
        result[positive.index] = colours[1]
        return result, [*legend, LegendEntry(_range_label(edges[0], edges[0]), colours[1])]
    lows, highs = edges[:-1], np.append(edges[1:-1] - 1, edges[-1])
    classes = np.searchsorted(edges[1:-1], positive.to_numpy(), side="right")
    result[positive.index] = [colours[1 + c] for c in classes]
    legend += [
        LegendEntry(_range_label(lo, hi), colours[1 + i]) for i, (lo, hi) in enumerate(zip(lows, highs, strict=True))
    ]
    return result, legend


def classify_shares(values: pd.Series, ramp: str) -> tuple[pd.Series, list[LegendEntry]]:
    """Fixed 20-point classes (0–20 % … 80–100 %), so that colours mean the same in every view;
    missing shares (no households) are grey."""
    colours = RAMPS[ramp]
    classes = np.clip(np.floor(values.fillna(-1).to_numpy() * 5), -1, 4).astype(int)
    result = pd.Series([NO_DATA_COLOUR if c < 0 else colours[c] for c in classes], index=values.index)
    legend = [LegendEntry(f"{20 * i}–{20 * (i + 1)}%", colours[i]) for i in range(5)]
    legend.append(LegendEntry("无住户", NO_DATA_COLOUR))
    return result, legend
