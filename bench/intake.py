"""Benchmark of the Open311 intake API (issue 17) through HTTP, as `make run` serves it
(`streamlit run serve.py` on a free port), on the small demo county (one township, ~8,000
households) or with `--scale county` on the county demo (slow to generate), SQLite and PostGIS in
one run:
POST requests/s (each a new case) and GET requests/s (requests.json, a page of 100; one request
by id), for one client and for 8 clients at once.  The GET rate limit is raised for the run.
`python -m bench.intake [--scale county]`; results in bench/results/intake[-county].json."""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import select

from bench.foundation import NOW, RESULTS
from devtools.app_server import running_app
from devtools.pgcluster import throwaway_postgis
from services.access.actor import Actor
from services.cli.bootstrap import Store, create_demo, open_store
from services.intake.keys import add_intake_key
from services.settings import Settings
from services.store.models import Household

ADMIN = Actor("bench", "基准测试", "county_admin", "130532", ("130532",))
CLIENTS = 8
POSTS = 200
GETS = 400


def _call(url: str, data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data)
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
        return int(response.status)


def _post(api: str, key: str, lon: float, lat: float, external_id: str) -> int:
    fields = {
        "api_key": key,
        "service_code": "sanitation",
        "lat": lat,
        "long": lon,
        "description": "基准测试：接口上报",
        "attribute[subcategory]": "垃圾堆放",
        "external_id": external_id,
    }
    return _call(api + "requests.json", urlencode(fields).encode())


def per_s(calls: Sequence[Callable[[], int]], clients: int) -> float:
    """Requests/s of `calls` shared among `clients` threads released together."""
    barrier = threading.Barrier(clients + 1)
    chunks = [calls[i::clients] for i in range(clients)]
    failures: list[int] = []

    def run(chunk: Sequence[Callable[[], int]]) -> None:
        barrier.wait()
        failures.extend(status for status in (call() for call in chunk) if status >= 300)

    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed: {failures[:5]}")
    return round(len(calls) / elapsed, 1)


def measure(store: Store, url: str) -> dict[str, float]:
    key = add_intake_key(store.session_factory, actor=ADMIN, now=NOW, name="bench", channel="app")
    with store.session_factory() as session:
        points = session.execute(select(Household.lon, Household.lat).limit(2 * POSTS)).all()
    results: dict[str, float] = {}
    with running_app({"DATABASE_URL": url, "INTAKE_GET_PER_MIN": "1000000"}) as (base, _):
        api = base + "open311/v2/"
        _call(api + "services.json")  # opens the store
        for clients, batch in ((1, points[:POSTS]), (CLIENTS, points[POSTS:])):
            posts = [
                functools.partial(_post, api, key, lon, lat, f"bench-{clients}-{n}")
                for n, (lon, lat) in enumerate(batch)
            ]
            results[f"post_per_s_{clients}_clients"] = per_s(posts, clients)
        with urllib.request.urlopen(api + "requests.json?page_size=1", timeout=60) as response:
            one = json.loads(response.read())[0]["service_request_id"]
        for clients in (1, CLIENTS):
            pages = [functools.partial(_call, api + "requests.json?page_size=100") for _ in range(GETS // 2)]
            results[f"get_page_per_s_{clients}_clients"] = per_s(pages, clients)
            by_id = [functools.partial(_call, api + f"requests/{one}.json") for _ in range(GETS)]
            results[f"get_one_per_s_{clients}_clients"] = per_s(by_id, clients)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=("small", "county"), default="small")
    scale = parser.parse_args().scale
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        store = open_store(Settings.from_env({"DATABASE_URL": url}))
        create_demo(store, scale=scale, seed=7, now=NOW)
        results["sqlite"] = measure(store, url)
        store.engine.dispose()
    with throwaway_postgis() as url:
        store = open_store(Settings.from_env({"DATABASE_URL": url}))
        create_demo(store, scale=scale, seed=7, now=NOW)
        results["postgis"] = measure(store, url)
        store.engine.dispose()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "intake.json" if scale == "small" else f"intake-{scale}.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
