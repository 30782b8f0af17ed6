"""Synthesised patrols: GPS fixes every ~30 s along walking routes through each worker's grids.

A patrol session walks from household to household of the worker's grids (in a loop around the
grid), pausing a few minutes at some doors, at 1.0–1.4 m/s, with phone-GPS noise; about 1% of
fixes are poor (accuracy > 100 m) as on real phones.  Two sessions a day, morning and afternoon,
about 4 h in all.  About 1% of sessions are a phone left in one place and 1% a replayed track
with perfectly regular fixes, for the compliance flags to find.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from services.domain import LOCAL_TZ

FIX_INTERVAL_S = 30.0
SESSIONS_LOCAL = ((8.5, 2.0), (15.0, 2.0))  # (start hour, duration h), Asia/Shanghai


def _walk(
    waypoints: np.ndarray, dwell_s: np.ndarray, speed: float, duration_s: float, rng: np.random.Generator
) -> np.ndarray:
    """Positions (x, y, t seconds) every ~30 s along the waypoints, repeated until `duration_s`."""
    legs = np.diff(waypoints, axis=0)
    leg_time = np.hypot(legs[:, 0], legs[:, 1]) / speed
    # Timeline of knots: arrive at waypoint i, leave after its dwell.
    knots_t = np.zeros(2 * len(waypoints))
    knots_t[1::2] = dwell_s
    knots_t[2::2] = leg_time
    knots_t = np.cumsum(knots_t)
    knots_xy = np.repeat(waypoints, 2, axis=0)
    loop = knots_t[-1] + 1.0
    n_fix = int(duration_s // FIX_INTERVAL_S)
    t = np.arange(n_fix) * FIX_INTERVAL_S + rng.normal(0, 1.5, n_fix).clip(-5, 5)
    t = np.sort(np.clip(t, 0, duration_s))
    phase = np.mod(t, loop)
    x = np.interp(phase, knots_t, knots_xy[:, 0])
    y = np.interp(phase, knots_t, knots_xy[:, 1])
    return np.column_stack([x, y, t])


def make_fixes(
    households_xy: pd.DataFrame,
    worker_grids: pd.DataFrame,
    workers: pd.DataFrame,
    *,
    county_code: str,
    days: int,
    now: dt.datetime,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Fixes of every on-duty worker for the `days` local days before `now` (today's up to now).

    `households_xy` has grid_code, x, y in metres; returns worker_id, ts (UTC), x, y, accuracy_m.
    """
    by_grid = {code: frame[["x", "y"]].to_numpy() for code, frame in households_xy.groupby("grid_code")}
    grids_of = worker_grids.groupby("worker_id")["grid_code"].apply(list)
    on_duty = workers.loc[workers["on_duty"], "worker_id"]
    today = now.astimezone(LOCAL_TZ).date()
    chunks = []
    for worker_id in on_duty:
        homes = np.concatenate([by_grid[g] for g in grids_of.get(worker_id, []) if g in by_grid] or [np.empty((0, 2))])
        if len(homes) < 3:
            continue
        center = homes.mean(axis=0)
        diligence = rng.beta(5, 2)  # some workers patrol nearly every day, some seldom
        for back in range(days):
            if rng.random() > diligence:
                continue  # not every worker patrols every day
            day = today - dt.timedelta(days=back)
            faked = rng.random()  # a few faked days, as supervisors meet them: a phone left at home, a replay
            for start_h, duration_h in SESSIONS_LOCAL:
                start = dt.datetime.combine(day, dt.time(), LOCAL_TZ) + dt.timedelta(
                    hours=start_h + rng.normal(0, 0.25)
                )
                stops = homes[rng.choice(len(homes), min(len(homes), int(rng.integers(4, 11))), replace=False)]
                order = np.argsort(np.arctan2(stops[:, 1] - center[1], stops[:, 0] - center[0]))
                route = stops[order] + rng.normal(0, 4, stops.shape)
                dwell = np.where(
                    rng.random(len(route)) < 0.5, rng.uniform(300, 900, len(route)), rng.uniform(0, 60, len(route))
                )
                walk = _walk(route, dwell, rng.uniform(1.0, 1.4), duration_h * 3600 * rng.uniform(0.85, 1.0), rng)
                if faked < 0.01:
                    walk[:, :2] = route[0]
                elif faked < 0.02:
                    walk[:, 2] = np.arange(len(walk)) * FIX_INTERVAL_S
                ts = pd.Timestamp(start).tz_convert("UTC") + pd.to_timedelta(walk[:, 2], unit="s")
                keep = ts <= pd.Timestamp(now)
                accuracy = rng.exponential(9.0, len(walk)) + 3.0
                poor = rng.random(len(walk)) < 0.01
                accuracy[poor] = rng.uniform(120, 600, poor.sum())
                noise = rng.normal(0, 1, (len(walk), 2)) * (accuracy[:, None] * 0.5)
                chunks.append(
                    pd.DataFrame(
                        {
                            "worker_id": worker_id,
                            "ts": ts[keep].floor("s"),  # whole seconds, never past now
                            "x": (walk[:, 0] + noise[:, 0])[keep],
                            "y": (walk[:, 1] + noise[:, 1])[keep],
                            "accuracy_m": np.round(accuracy[keep], 1),
                        }
                    )
                )
    if not chunks:
        return pd.DataFrame(columns=["worker_id", "ts", "x", "y", "accuracy_m"])
    fixes = pd.concat(chunks, ignore_index=True)
    return fixes.drop_duplicates(["worker_id", "ts"]).assign(county_code=county_code)
