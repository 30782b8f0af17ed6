"""Benchmark of the fixes' day partitions (issue 19), PostGIS only, side by side in one run: the
table as it was (migration 0017, one table) and partitioned by local day (0018), each with 30 and
with 400 days of fixes loaded (20 workers, 144 fixes each over a 12-hour day: 1.15 million rows
at 400 days): one worker-day's fixes as the patrol page reads them (median of 50 random
worker-days), retention of the oldest day (DELETE of its rows against DROP of its partition) and
the table's size; and the retention of one county-size day (700,000 fixes).
`python -m bench.fix_partitions`; results in bench/results/fix-partitions.json."""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import time

import numpy as np
import pandas as pd
from alembic import command
from sqlalchemy import Engine, text

from bench.foundation import RESULTS
from devtools.pgcluster import throwaway_postgis
from services.domain import LOCAL_TZ
from services.store.bulk import insert_frame
from services.store.engine import make_engine
from services.store.fix_partitions import day_bounds, ensure_day_partitions, is_partitioned, partition_name
from services.store.migrate import alembic_config
from services.store.models import PatrolFix, table_of

COUNTY = "130532"
WORKERS = 20
FIXES_PER_DAY = 144  # every 5 minutes from 08:00 to 20:00
LAST_DAY = dt.date(2026, 11, 30)
# A real county's day (issue 19: ~700,000 fixes): 1,500 workers, a fix every 93 s for 12 hours.
COUNTY_WORKERS, COUNTY_FIXES_PER_WORKER = 1_500, 467


def day_of_fixes(day: dt.date, workers: int = WORKERS, per_day: int = FIXES_PER_DAY) -> pd.DataFrame:
    start = dt.datetime.combine(day, dt.time(8), LOCAL_TZ)
    stamps = pd.date_range(start, end=start + dt.timedelta(hours=12), periods=per_day).tz_convert("UTC")
    rng = np.random.default_rng(day.toordinal())
    count = workers * per_day
    return pd.DataFrame(
        {
            "county_code": COUNTY,
            "worker_id": np.repeat([f"W{n:04d}" for n in range(workers)], per_day),
            "ts": np.tile(stamps, workers),
            "lon": 115.0 + rng.random(count) * 0.1,
            "lat": 37.0 + rng.random(count) * 0.1,
            "accuracy_m": 8.0,
        }
    )


def load(engine: Engine, days: list[dt.date], workers: int = WORKERS, per_day: int = FIXES_PER_DAY) -> float:
    start = time.perf_counter()
    with engine.begin() as connection:
        ensure_day_partitions(connection, days)
    with engine.begin() as connection:
        for day in days:
            insert_frame(connection, table_of(PatrolFix), day_of_fixes(day, workers, per_day))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE patrol_fixes"))
    return time.perf_counter() - start


def worker_day_ms(engine: Engine, days: list[dt.date]) -> float:
    rng = random.Random(7)
    times = []
    with engine.connect() as connection:
        for _ in range(50):
            day = rng.choice(days)
            start, end = day_bounds(day)
            began = time.perf_counter()
            connection.execute(
                text(
                    "SELECT ts, lon, lat FROM patrol_fixes WHERE county_code = :c AND worker_id = :w "
                    "AND ts >= :s AND ts < :e ORDER BY ts"
                ),
                {"c": COUNTY, "w": f"W{rng.randrange(WORKERS):04d}", "s": start, "e": end},
            ).all()
            times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def retire_oldest_s(engine: Engine, day: dt.date) -> float:
    start = time.perf_counter()
    with engine.begin() as connection:
        if is_partitioned(connection):
            connection.execute(text(f"DROP TABLE {partition_name(day)}"))
        else:
            first, end = day_bounds(day)
            connection.execute(text("DELETE FROM patrol_fixes WHERE ts >= :s AND ts < :e"), {"s": first, "e": end})
    return time.perf_counter() - start


def table_mb(engine: Engine) -> float:
    with engine.connect() as connection:
        size = connection.scalar(
            text(
                "SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('patrol_fixes')), "
                "pg_total_relation_size('patrol_fixes'))"
            )
        )
    return round(float(size) / 2**20, 1)


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    results = []
    for layout, revision in (("one table (0017)", "0017"), ("day partitions (0018)", "head")):
        for kept in (30, 400):
            days = [LAST_DAY - dt.timedelta(days=n) for n in range(kept)][::-1]
            with throwaway_postgis("fixes") as url:
                engine = make_engine(url)
                command.upgrade(alembic_config(engine), revision)
                load_s = load(engine, days)
                result = {
                    "layout": layout,
                    "days": kept,
                    "fixes": kept * WORKERS * FIXES_PER_DAY,
                    "load_s": round(load_s, 1),
                    "worker_day_ms": round(worker_day_ms(engine, days), 2),
                    "table_mb": table_mb(engine),
                    "retire_oldest_day_s": round(retire_oldest_s(engine, days[0]), 3),
                }
                engine.dispose()
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), flush=True)
        days = [LAST_DAY - dt.timedelta(days=1), LAST_DAY]  # retention of one county-size day
        with throwaway_postgis("fixes") as url:
            engine = make_engine(url)
            command.upgrade(alembic_config(engine), revision)
            load_s = load(engine, days, COUNTY_WORKERS, COUNTY_FIXES_PER_WORKER)
            result = {
                "layout": layout,
                "days": len(days),
                "fixes": len(days) * COUNTY_WORKERS * COUNTY_FIXES_PER_WORKER,
                "load_s": round(load_s, 1),
                "table_mb": table_mb(engine),
                "retire_oldest_day_s": round(retire_oldest_s(engine, days[0]), 3),
            }
            engine.dispose()
        results.append(result)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    (RESULTS / "fix-partitions.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
