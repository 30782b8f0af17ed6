"""Rules that judge areas against each other and against the county's aims, shared by the wall
screen and the statistics read model."""

from __future__ import annotations

import pandas as pd

# An area with fewer closures (DESIGN.md `closed`: reported in P, closed by T) is not ranked: a
# rate of 1 case in 1 is no ranking.
MIN_CASES_TO_RANK = 20
# Share of the closed cases to be solved at each handling level: 80 / 10 / 10 (龙游).
LEVEL_AIM = {"grid": 0.8, "village": 0.1, "township": 0.1, "county": 0.0}


def rank_areas(figures: pd.DataFrame) -> pd.Series:
    """Rank (1 = best) of each row of `figures` (columns closed, closure_rate, on_time_rate): by
    closure rate, then on-time rate, among the rows with at least MIN_CASES_TO_RANK closures;
    <NA> for the others.  Ties share the order they come in."""
    keys = figures[["closure_rate", "on_time_rate"]].astype(float)  # None (no denominator) sorts last
    ranked = keys[figures["closed"] >= MIN_CASES_TO_RANK]
    order = ranked.sort_values(["closure_rate", "on_time_rate"], ascending=False, na_position="last", kind="stable")
    rank = pd.Series(pd.NA, index=figures.index, dtype="Int64")
    rank.loc[order.index] = range(1, len(order) + 1)
    return rank
