"""12345 hotline work orders (`import workorders FILE`): each order a case in 待核实, made as
`services.cases.workflow.add_report` makes one (the day's next SJ id, the report event, the grid
of its point), with an intake record under the source `workorders` keyed by 工单编号.

- The point: the 经纬度 column (`lon,lat` in one cell) or 经度/纬度 columns; without them the
  address is matched to a household or a village/grid name (`services.intake.places`), else the
  row is refused naming 地址.
- 诉求类别 through `services.intake.catalogue.HOTLINE_CATEGORIES` (or the taxonomy's own names).
- Re-importing updates by 工单编号: the content, category, point and caller of an order already
  imported are rewritten (its case keeps its id, its 受理时间 and its place in the workflow);
  unchanged orders are counted as such.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from services.cases.limits import find_limits
from services.cases.workflow import add_report
from services.domain import CHANNEL_NAMES
from services.exchange.formats import WORKORDER_FIELDS
from services.exchange.imports.fields import check_unique, parse_lon_lat, parse_times
from services.exchange.imports.people import locate_in_grids
from services.exchange.imports.problems import ProblemList
from services.exchange.imports.readers import require_columns
from services.intake.catalogue import CATEGORY_SERVICE_CODES, hotline_category
from services.intake.places import locate_addresses
from services.store.models import Incident, IntakeRequest

SOURCE = "workorders"
REPORTER = f"{CHANNEL_NAMES['hotline']}：12345 工单导入"
MAX_CONTENT = 4000
# What an update may rewrite, on the case and on its intake record.
CASE_FIELDS = ("category", "subcategory", "description", "lon", "lat", "grid_code")
RECORD_FIELDS = ("service_code", "address", "first_name", "phone")


def _split_lonlat(frame: pd.DataFrame) -> pd.DataFrame:
    """经纬度 `115.03,37.05` (or with ，/ /；) into lon and lat, where those columns are empty."""
    lon = frame["lon"] if "lon" in frame else pd.Series("", index=frame.index)
    lat = frame["lat"] if "lat" in frame else pd.Series("", index=frame.index)
    if "lonlat" in frame:
        parts = frame["lonlat"].str.replace(r"[，;；\s]+", ",", regex=True).str.strip(",").str.split(",", n=1)
        lon = lon.where(lon != "", parts.str[0].fillna(""))
        lat = lat.where(lat != "", parts.str[1].fillna(""))
    return frame.assign(lon=lon, lat=lat)


def check_workorders(
    connection: Connection, frame: pd.DataFrame, filename: str, *, county_code: str, crs: str
) -> pd.DataFrame:
    """The orders ready to write (every problem of the file raised at once, nothing written)."""
    require_columns(frame, WORKORDER_FIELDS, filename)
    frame = _split_lonlat(frame)
    for optional in ("caller_name", "caller_phone"):
        if optional not in frame:
            frame[optional] = ""
    problems = ProblemList(filename)
    check_unique(frame, "order_id", problems)
    problems.add_rows(frame.index[frame["order_id"].str.len() > 64], "order_id", "最长 64 个字符")
    problems.add_rows(frame.index[frame["content"] == ""], "content", "必填，不能为空")
    problems.add_rows(frame.index[frame["content"].str.len() > MAX_CONTENT], "content", f"最长 {MAX_CONTENT} 个字符")
    problems.add_rows(frame.index[frame["address"].str.len() > 256], "address", "最长 256 个字符")
    accepted = parse_times(frame, "accepted_at", problems, required=True)
    categories = frame["request_category"].map(hotline_category)
    for row in frame.index[categories.isna()]:
        problems.add(
            int(row),
            "request_category",
            f"诉求类别「{frame.at[row, 'request_category']}」没有对应的事件类别（对照表见 README「12345 工单」）",
        )
    given = (frame["lon"] != "") | (frame["lat"] != "")
    lon = np.full(len(frame), np.nan)
    lat = np.full(len(frame), np.nan)
    usable = np.zeros(len(frame), dtype=bool)
    if given.any():
        lon[given.to_numpy()], lat[given.to_numpy()], usable[given.to_numpy()] = parse_lon_lat(
            frame[given], problems, crs=crs
        )
    by_address = ~given & (frame["address"] != "")
    problems.add_rows(frame.index[~given & (frame["address"] == "")], "address", "没有经纬度时地址必填")
    if by_address.any():
        places = locate_addresses(connection, county_code, frame.loc[by_address, "address"])
        for row, place in places.items():
            if place is None:
                problems.add(
                    int(row),
                    "address",
                    "找不到这个地址：既不是登记的住户地址，也不含本县的村(社区)或网格名称，请补经纬度",
                )
            else:
                at = frame.index.get_loc(row)
                lon[at], lat[at], usable[at] = place.lon, place.lat, True
    grid_code = locate_in_grids(connection, county_code, lon, lat, usable)
    problems.add_rows(frame.index[usable & (grid_code == "")], "lon/lat", "位置不在本县任何网格内")
    problems.raise_if_any()
    category = categories.str[0]
    orders = pd.DataFrame(
        {
            "county_code": county_code,
            "order_id": frame["order_id"],
            "category": category,
            "subcategory": categories.str[1],
            "severity": "normal",
            "description": frame["content"],
            "lon": lon,
            "lat": lat,
            "grid_code": grid_code,
            "reported_at": accepted,
            "service_code": category.map(CATEGORY_SERVICE_CODES),
            "address": _text_or_none(frame["address"]),
            "first_name": _text_or_none(frame["caller_name"].str[:32]),
            "phone": _text_or_none(frame["caller_phone"].str[:20]),
        }
    )
    orders["limit_hours"] = find_limits(connection, county_code, orders, "handling")["hours"].to_numpy()
    return orders


def _text_or_none(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values != "", None)


def write_workorders(connection: Connection, orders: pd.DataFrame, *, now: dt.datetime) -> dict[str, int]:
    """New orders become cases, known ones (by 工单编号) are updated, in the caller's transaction."""
    county = orders["county_code"].iloc[0]
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    # A session on the import's own connection: it joins that transaction and never commits it.
    with Session(bind=connection) as session:
        known = dict(
            session.execute(
                select(IntakeRequest.external_id, IntakeRequest.incident_id).where(
                    IntakeRequest.county_code == county,
                    IntakeRequest.source == SOURCE,
                    IntakeRequest.external_id.in_(orders["order_id"].tolist()),
                )
            ).all()
        )
        for order in orders.to_dict("records"):
            incident_id = known.get(order["order_id"])
            if incident_id is None:
                _insert(session, order, now)
                counts["inserted"] += 1
            elif _update(session, county, incident_id, order):
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        session.flush()
    return {f"workorders_{name}": value for name, value in counts.items()}


def _insert(session: Session, order: dict[str, Any], now: dt.datetime) -> None:
    fields = {
        "county_code": order["county_code"],
        "grid_code": order["grid_code"],
        "category": order["category"],
        "subcategory": order["subcategory"],
        "severity": order["severity"],
        "lon": float(order["lon"]),
        "lat": float(order["lat"]),
        "description": order["description"],
        "channel": "hotline",
        "reporter": REPORTER,
        "state": "reported",
        "level": "grid",
        "limit_hours": float(order["limit_hours"]),
        "reported_at": order["reported_at"].to_pydatetime(),
    }
    incident_id = add_report(session, fields, REPORTER)
    session.add(
        IntakeRequest(
            county_code=order["county_code"],
            incident_id=incident_id,
            source=SOURCE,
            external_id=order["order_id"],
            received_at=now,
            media_url=None,
            last_name=None,
            email=None,
            **{field: order[field] for field in RECORD_FIELDS},
        )
    )


def _update(session: Session, county: str, incident_id: str, order: dict[str, Any]) -> bool:
    case = session.get(Incident, (county, incident_id))
    record = session.get(IntakeRequest, (county, incident_id))
    if case is None or record is None:  # the foreign key keeps them together
        raise LookupError(incident_id)
    changed = False
    for target, fields in ((case, CASE_FIELDS), (record, RECORD_FIELDS)):
        for field in fields:
            value = order[field]
            if getattr(target, field) != value:
                setattr(target, field, value)
                changed = True
    return changed
