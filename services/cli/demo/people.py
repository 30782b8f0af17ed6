"""Synthesised households, workers, departments and users of the demo county."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.assign import NO_GRID, assign_grids
from geo.crs import WGS84
from services.access.passwords import hash_password
from services.cli.demo.layout import COORD_PRECISION_DEG, Layout
from services.cli.demo.vocabulary import DEPARTMENTS, GIVEN_FIRST, GIVEN_SECOND, STREET_NAMES, SURNAMES
from services.exchange.id_numbers import check_characters

# Share of households carrying each tag (rural Hebei: many elderly living alone, left-behind children).
TAG_SHARES = {
    "独居老人": 0.055,
    "留守儿童": 0.035,
    "残疾人": 0.03,
    "低保户": 0.035,
    "特困供养": 0.006,
    "党员户": 0.08,
    "退役军人": 0.03,
    "重点人员": 0.003,
    "社区矫正": 0.0015,
    "刑满释放": 0.002,
    "严重精神障碍患者": 0.002,
}


def person_names(count: int, rng: np.random.Generator, surnames: np.ndarray | None = None) -> np.ndarray:
    family = surnames if surnames is not None else rng.choice(list(SURNAMES), count)
    first = rng.choice(list(GIVEN_FIRST), count)
    second = rng.choice(list(GIVEN_SECOND), count)
    single = rng.random(count) < 0.25
    return np.where(
        single, np.char.add(family.astype(str), second), np.char.add(np.char.add(family.astype(str), first), second)
    )


def phone_numbers(count: int, rng: np.random.Generator) -> np.ndarray:
    prefix = rng.choice(
        ["133", "135", "138", "139", "150", "151", "157", "158", "177", "186", "187", "189", "199"], count
    )
    rest = rng.integers(0, 10**8, count)
    return np.char.add(prefix.astype(str), np.char.zfill(rest.astype(str), 8))


def id_numbers(county_code: str, count: int, rng: np.random.Generator) -> np.ndarray:
    """居民身份证号 of household heads born in the county 1935–2000 (GB 11643: area, birth date,
    sequence, ISO 7064 MOD 11-2 check character)."""
    born = np.datetime64("1935-01-01") + rng.integers(0, 365 * 65, count).astype("timedelta64[D]")
    body = np.char.add(
        np.char.add(county_code, np.datetime_as_string(born, unit="D").astype("U10")),
        np.char.zfill(rng.integers(0, 1000, count).astype(str), 3),
    )
    body = np.char.replace(body, "-", "")
    return np.char.add(body, check_characters(body))


def make_households(layout: Layout, county_code: str, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Households clustered in their village's settlement along east–west lanes, and their tags."""
    villages = layout.villages
    n = villages["households"].to_numpy()
    owner = np.repeat(np.arange(len(villages)), n)
    spread = 9.0 * np.sqrt(n)[owner]
    radius = np.minimum(np.abs(rng.normal(0, 1, len(owner))), 2.2) * spread
    angle = rng.uniform(0, 2 * np.pi, len(owner))
    x = villages["x"].to_numpy()[owner] + radius * np.cos(angle) + rng.normal(0, 3, len(owner))
    lane = 26.0  # houses stand in rows along lanes about 26 m apart
    y = (
        villages["y"].to_numpy()[owner]
        + np.round(radius * np.sin(angle) / lane) * lane
        + rng.normal(0, 2.5, len(owner))
    )
    points = gpd.GeoSeries(shapely.points(x, y), crs=layout.crs_metric).to_crs(WGS84)
    points = shapely.set_precision(points.values, COORD_PRECISION_DEG)

    grids = layout.areas[layout.areas["level"] == "grid"].reset_index(drop=True)
    hit = assign_grids(points, grids.geometry.values, grids["code"].to_numpy())
    inside = hit != NO_GRID
    owner, points, hit = owner[inside], points[inside], hit[inside]
    grid_code = grids["code"].to_numpy()[hit]
    village_code = pd.Series(grid_code).str[:12].to_numpy()

    dominant = rng.choice(list(SURNAMES[:20]), (len(villages), 3))
    pick = rng.integers(0, 3, len(owner))
    local = rng.random(len(owner)) < 0.6
    surnames = np.where(local, dominant[owner, pick], rng.choice(list(SURNAMES), len(owner)))

    names = villages.set_index("village_code")
    village_name = names.loc[village_code, "village_name"].to_numpy()
    township_name = names.loc[village_code, "township_name"].to_numpy()
    street = rng.choice(list(STREET_NAMES), len(owner))
    number = rng.integers(1, 220, len(owner)).astype(str)
    order = np.argsort(grid_code, kind="stable")
    households = pd.DataFrame(
        {
            "county_code": county_code,
            "household_id": [
                f"H{c}{i:04d}" for c, i in zip(grid_code[order], _rank_within(grid_code[order]), strict=True)
            ],
            "grid_code": grid_code[order],
            "head_name": person_names(len(owner), rng, surnames)[order],
            "address": (township_name + village_name + street + number + "号")[order],
            "members": np.clip(rng.poisson(2.6, len(owner)) + 1, 1, 9)[order],
            "phone": phone_numbers(len(owner), rng)[order],
            # a generator of its own, so the rest of the demo county stays as it was
            "id_number": id_numbers(county_code, len(owner), np.random.default_rng(len(owner))),
            "lon": shapely.get_x(points)[order],
            "lat": shapely.get_y(points)[order],
        }
    )
    tag_rows = [
        pd.DataFrame(
            {
                "county_code": county_code,
                "household_id": households["household_id"][rng.random(len(households)) < share],
                "tag": tag,
            }
        )
        for tag, share in TAG_SHARES.items()
    ]
    return households, pd.concat(tag_rows, ignore_index=True)


def _rank_within(sorted_keys: np.ndarray) -> np.ndarray:
    start = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(len(sorted_keys)), 0))
    return np.arange(len(sorted_keys)) - group_start + 1


def make_workers(
    layout: Layout, county_code: str, count: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Workers shared out over each village's grids: where there are fewer workers than grids a
    worker covers neighbouring grids, where there are more a grid has several workers."""
    grids = layout.grid_seeds
    per_village = grids.groupby("village_code", sort=True).size()
    workers_per_village = np.maximum(1, np.round(per_village.to_numpy() * count / len(grids))).astype(int)
    rows = []
    worker_seq = 0
    for village_code, n_grids, n_workers in zip(
        per_village.index, per_village.to_numpy(), workers_per_village, strict=True
    ):
        codes = grids.loc[grids["village_code"] == village_code, "grid_code"].to_numpy()
        if n_workers >= n_grids:
            pairs = [(w, codes[w * n_grids // n_workers]) for w in range(n_workers)]
        else:
            pairs = [(g * n_workers // n_grids, codes[g]) for g in range(n_grids)]
        for w, grid_code in pairs:
            rows.append((f"W{county_code}{worker_seq + w + 1:05d}", grid_code, w == 0))
        worker_seq += n_workers
    assignments = pd.DataFrame(rows, columns=["worker_id", "grid_code", "leader"])
    ids = assignments.drop_duplicates("worker_id")
    workers = pd.DataFrame(
        {
            "county_code": county_code,
            "worker_id": ids["worker_id"].to_numpy(),
            "name": person_names(len(ids), rng),
            "phone": phone_numbers(len(ids), rng),
            "role": np.where(ids["leader"].to_numpy(), "grid_leader", "worker"),
            "on_duty": rng.random(len(ids)) < 0.9,
        }
    )
    worker_grids = assignments[["worker_id", "grid_code"]].drop_duplicates().assign(county_code=county_code)
    return workers, worker_grids[["county_code", "worker_id", "grid_code"]]


def make_departments(county_code: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    departments = pd.DataFrame(
        [(county_code, f"D{county_code}{i + 1:02d}", name, kind) for i, (name, kind, _) in enumerate(DEPARTMENTS)],
        columns=["county_code", "department_id", "name", "kind"],
    )
    categories = pd.DataFrame(
        [
            (county_code, f"D{county_code}{i + 1:02d}", category)
            for i, (_, _, accepted) in enumerate(DEPARTMENTS)
            for category in accepted
        ],
        columns=["county_code", "department_id", "category"],
    )
    return departments, categories


DEMO_PASSWORD = "minqing-demo"  # listed in README; every demo user has it


def make_users(layout: Layout, county_code: str, grid_codes: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One demo user per role, and the areas each holds: the leader the first township, the
    supervisor its first two grids (of two villages at the small scale, where a village has one
    grid: their home is the township, of which they see those two grids only)."""
    township = layout.villages["township_code"].iloc[0]
    first_grids = sorted(grid_codes[grid_codes.str.startswith(township)])[:2]
    people = [
        ("admin", "县管理员", "county_admin", [county_code]),
        ("operator", "指挥中心值班员", "county_operator", [county_code]),
        ("leader", "乡镇领导", "township_leader", [township]),
        ("supervisor", "网格督导员", "grid_supervisor", first_grids),
        ("viewer", "只读用户", "viewer", [county_code]),
    ]
    password_hash = hash_password(DEMO_PASSWORD)
    users = pd.DataFrame(
        [(name, county_code, label, role, password_hash, False) for name, label, role, _ in people],
        columns=["username", "county_code", "display_name", "role", "password_hash", "disabled"],
    )
    areas = pd.DataFrame(
        [(county_code, name, code) for name, _, _, codes in people for code in codes],
        columns=["county_code", "username", "area_code"],
    )
    return users, areas
