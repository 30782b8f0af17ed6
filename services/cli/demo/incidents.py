"""Synthesised incident history: 90 days of cases moving through the DESIGN.md workflow.

Timings are drawn so that the figures look like a working county: most reports are judged within
a few hours, some late or never; most cases are handled well inside their limit, a few run over;
about 80/10/10 are closed at grid / village / higher level.  Stages that would happen after `now`
have not happened yet, which is what leaves cases open.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.assign import NO_GRID, assign_grids
from services.cases.history import events_from_stage_times, state_from_stage_times
from services.cases.limits import default_hours
from services.cli.demo.vocabulary import DESCRIPTIONS
from services.domain import CATEGORIES, INCIDENT_TIMES, LOCAL_TZ

CATEGORY_WEIGHTS = {"环境卫生": 0.30, "民生服务": 0.25, "安全隐患": 0.18, "矛盾纠纷": 0.15, "治安": 0.07, "信访": 0.05}
URGENT_SHARE = {"安全隐患": 0.25, "治安": 0.12, "矛盾纠纷": 0.06}
LEVEL_SHARES = {"grid": 0.80, "village": 0.10, "township": 0.07, "county": 0.03}
CHANNEL_SHARES = {"patrol": 0.62, "resident": 0.18, "app": 0.12, "hotline": 0.08}
HOUR = np.timedelta64(3600, "s")


def _lognormal_hours(rng: np.random.Generator, median: float, sigma: float, size: int) -> np.ndarray:
    return rng.lognormal(np.log(median), sigma, size)


def make_incidents(
    households: pd.DataFrame,
    workers_by_grid: pd.DataFrame,
    department_categories: pd.DataFrame,
    village_names: pd.Series,
    grid_areas: gpd.GeoDataFrame,
    *,
    county_code: str,
    grids: int,
    per_grid_day: float,
    days: int,
    now: dt.datetime,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (incidents, incident_events) as DataFrames in the storage columns."""
    n = rng.poisson(grids * per_grid_day * days)
    now64 = np.datetime64(now.astimezone(dt.UTC).replace(tzinfo=None), "s")
    # Reports come in daytime, Asia/Shanghai (UTC+8): 07:00–21:00 local ≈ 23:00–13:00 UTC.
    offset = np.timedelta64(int(LOCAL_TZ.utcoffset(None).total_seconds()), "s")
    day = rng.integers(0, days + 1, n)
    local_hour = np.clip(rng.normal(12.5, 3.2, n), 6.5, 22.0)
    midnight_utc = (now64.astype("datetime64[D]") - day).astype("datetime64[s]") - offset
    reported = midnight_utc + (local_hour * 3600).astype("timedelta64[s]")
    keep = (reported <= now64) & (reported > now64 - np.timedelta64(days, "D"))
    reported = np.sort(reported[keep])
    n = len(reported)

    categories = np.array(list(CATEGORY_WEIGHTS))
    category = rng.choice(categories, n, p=np.array(list(CATEGORY_WEIGHTS.values())))
    subcategory = np.array([rng.choice(CATEGORIES[c]) for c in category])
    urgent = rng.random(n) < np.vectorize(lambda c: URGENT_SHARE.get(c, 0.02))(category)
    severity = np.where(urgent, "urgent", "normal")
    # The demo county's limits table holds the defaults (`default_limit_rows`).
    limit_hours = np.array([default_hours("handling", s) for s in severity])

    site = households.iloc[rng.integers(0, len(households), n)]
    lon = np.round(site["lon"].to_numpy() + rng.normal(0, 0.00015, n), 6)
    lat = np.round(site["lat"].to_numpy() + rng.normal(0, 0.00012, n), 6)
    # A case's grid is where its point lies (DESIGN.md); one jittered out of every grid stays at the door.
    hit = assign_grids(shapely.points(lon, lat), grid_areas.geometry.to_numpy(), grid_areas["code"].to_numpy())
    outside = hit == NO_GRID
    lon[outside], lat[outside] = site["lon"].to_numpy()[outside], site["lat"].to_numpy()[outside]
    grid_code = np.where(outside, site["grid_code"].to_numpy(), grid_areas["code"].to_numpy()[np.maximum(hit, 0)])

    def hours(h: np.ndarray) -> np.ndarray:
        return (h * 3600).astype("timedelta64[s]")

    # 核实: a few rejected, most judged within hours, some late, ~1% forgotten.
    judge = reported + hours(np.where(rng.random(n) < 0.05, rng.uniform(24, 60, n), _lognormal_hours(rng, 1.6, 1.0, n)))
    forgotten = rng.random(n) < 0.01
    rejected = (rng.random(n) < 0.06) & ~forgotten
    not_fixed = (rng.random(n) < 0.045) & ~rejected & ~forgotten
    close_reason = np.where(
        not_fixed,
        rng.choice(["duplicate", "not_our_responsibility", "no_action_needed"], n, p=[0.45, 0.33, 0.22]),
        "fixed",
    )

    level = rng.choice(np.array(list(LEVEL_SHARES)), n, p=np.array(list(LEVEL_SHARES.values())))
    rung = pd.Series(level).map({name: i for i, name in enumerate(LEVEL_SHARES)}).to_numpy()
    dispatched = judge + hours(_lognormal_hours(rng, 0.5, 0.8, n))
    accepted = dispatched + hours(_lognormal_hours(rng, 0.3, 0.7, n))
    # Handling takes a share of the limit; escalated cases take longer; ~4–6% run over.
    handle_share = rng.lognormal(np.log(0.42), 0.6, n) * (1 + 0.25 * rung)
    long_running = rng.random(n) < 0.06  # land disputes, petitions, repairs waiting for funds
    handle_share = np.where(long_running, rng.uniform(0.9, 5.0, n), handle_share)
    handled = dispatched + hours(handle_share * limit_hours)
    closed = handled + hours(_lognormal_hours(rng, 8.0, 0.8, n))
    escalated_at = accepted + (handled - accepted) * 0.3

    worker_for = workers_by_grid.groupby("grid_code")["worker_id"].first()
    assignee = worker_for.reindex(grid_code).to_numpy()
    accepts = department_categories.groupby("category")["department_id"].first()
    to_department = (rung >= 2) & np.isin(category, accepts.index.to_numpy())
    department = np.where(to_department, accepts.reindex(category).to_numpy(), None)

    def happened(ts: np.ndarray, reached: np.ndarray) -> np.ndarray:
        return np.where(reached & (ts <= now64), ts, np.datetime64("NaT"))

    alive = ~forgotten
    validated_at = happened(judge, alive & ~rejected)
    rejected_at = happened(judge, rejected)
    goes_on = ~np.isnat(validated_at) & ~not_fixed
    dispatched_at = happened(dispatched, goes_on)
    accepted_at = happened(accepted, goes_on & ~np.isnat(dispatched_at))
    handled_at = happened(handled, goes_on & ~np.isnat(accepted_at))
    closed_at = np.where(
        not_fixed,
        happened(judge + hours(_lognormal_hours(rng, 2.0, 0.6, n)), not_fixed & ~np.isnat(validated_at)),
        happened(closed, ~np.isnat(handled_at)),
    ).astype("datetime64[s]")
    escalated = happened(escalated_at, goes_on & (rung > 0) & ~np.isnat(accepted_at))
    current_rung = np.where(np.isnat(escalated), 0, rung)
    satisfaction = np.where(  # type: ignore[call-overload]  # numpy's stubs leave None out of ArrayLike; np.where takes it as an object
        ~np.isnat(closed_at) & (close_reason == "fixed"),
        rng.choice(["满意", "基本满意", "不满意"], n, p=[0.82, 0.14, 0.04]),
        None,
    )

    local_day = pd.to_datetime(reported, utc=True).tz_convert(LOCAL_TZ).strftime("%Y%m%d")
    seq = pd.Series(np.arange(n)).groupby(np.asarray(local_day)).cumcount().to_numpy() + 1
    incident_id = np.char.add(np.char.add("SJ", np.asarray(local_day, dtype=str)), np.char.zfill(seq.astype(str), 4))
    village = village_names.reindex(pd.Series(grid_code).str[:12]).to_numpy()
    person = rng.choice(list("王李张刘赵杨陈孙郭高马"), n)
    number = rng.integers(2, 12, n)
    description = np.array(
        [
            rng.choice(DESCRIPTIONS[s]).format(v=v, p=p + "某", n=k)
            for s, v, p, k in zip(subcategory, village, person, number, strict=True)
        ],
        dtype=object,
    )
    levels = np.array(list(LEVEL_SHARES))
    channel = rng.choice(np.array(list(CHANNEL_SHARES)), n, p=np.array(list(CHANNEL_SHARES.values())))
    incidents = pd.DataFrame(
        {
            "county_code": county_code,
            "incident_id": incident_id,
            "grid_code": grid_code,
            "category": category,
            "subcategory": subcategory,
            "severity": severity,
            "lon": lon,
            "lat": lat,
            "description": description,
            "channel": channel,
            "reporter": np.where(channel == "patrol", assignee, None),  # a worker's own patrol reports
            "state": "reported",  # set from the stage times below
            "level": levels[current_rung],
            "limit_hours": limit_hours,
            "assignee_worker_id": np.where(~np.isnat(dispatched_at), assignee, None),
            "assignee_department_id": np.where(~np.isnat(escalated), department, None),  # type: ignore[call-overload]  # numpy's stubs leave None out of ArrayLike; np.where takes it as an object
            "reported_at": reported,
            "validated_at": validated_at,
            "rejected_at": rejected_at,
            "dispatched_at": dispatched_at,
            "accepted_at": accepted_at,
            "handled_at": handled_at,
            "closed_at": closed_at,
            "close_reason": np.where(np.isnat(closed_at), None, close_reason),  # type: ignore[call-overload]  # numpy's stubs leave None out of ArrayLike; np.where takes it as an object
            "satisfaction": satisfaction,
            "duplicate_of": None,
            "version": 1,
        }
    )
    for column in INCIDENT_TIMES:
        incidents[column] = pd.to_datetime(incidents[column], utc=True)
    incidents["state"] = state_from_stage_times(incidents)
    events = events_from_stage_times(incidents, pd.Series(escalated).pipe(pd.to_datetime, utc=True))
    return incidents, events
