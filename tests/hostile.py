"""Hostile text for tests: names and notes that would run a script if any page rendered them as
HTML.  Each payload, if it ever ran, would set `top.XSS` (the signed-in Streamlit page, reached
from the same-origin map frame) or open a dialog; `<b>` checks that text stays readable."""

from __future__ import annotations

import itertools

from sqlalchemy import bindparam, select, true, update
from sqlalchemy.orm import Session

from services.store.engine import SessionFactory
from services.store.models import (
    Area,
    Department,
    Household,
    HouseholdTag,
    Incident,
    IncidentEvent,
    User,
    Worker,
)

# Short enough for the narrowest column they go into (32 characters; tags 16).
PAYLOADS = (
    "<img src=x onerror=top.XSS=1>",
    "<svg onload=top.XSS=2>",
    '"><svg onload=top.XSS=3>',
    "<iframe srcdoc='<script>top.XSS=4</script>'>",
    "<b onmouseover=top.XSS=5>粗</b>",
    "'><img src=y onerror=alert(6)>",
)
SHORT_PAYLOADS = tuple(p for p in PAYLOADS if len(p) <= 32)
# Jinja syntax: branca reads rendered map scripts again as templates, so each of these, if the
# server ever ran it, would leave its mark: 注入注入注入, 循环循环循环, no 注释, Python's globals.
TEMPLATE_PAYLOADS = (
    '{{ "注入" * 3 }}',
    "{% for i in range(3) %}循环{% endfor %}",
    "{# 注释 #}{{{",
    "{{ self.__init__.__globals__ }}",
)
TEMPLATE_MARKS = ("注入注入注入", "循环循环循环", "__builtins__")
TAG_PAYLOAD = "<b>标签</b>"  # 16 characters at most: a tag is part of a key
FORMULAS = ('=HYPERLINK("http://x","点")', "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1")


def _cycle(values: tuple[str, ...], count: int) -> list[str]:
    return list(itertools.islice(itertools.cycle(values), count))


def _rename(session: Session, column, key_columns: tuple, short: bool = False, where=None) -> None:  # type: ignore[no-untyped-def]
    """Give every row's `column` a payload (cycling through them, the template ones too where the
    column is long enough), followed by the old text where the column has room for it; only the
    rows `where` holds if given."""
    rows = session.execute(
        select(*key_columns, column).where(true() if where is None else where).order_by(*key_columns)
    ).all()
    if not rows:
        return
    payloads = _cycle(SHORT_PAYLOADS if short else PAYLOADS + TEMPLATE_PAYLOADS, len(rows))
    limit = getattr(column.type, "length", None)
    table = column.class_.__table__  # Core, not an ORM bulk update: no version check on incidents
    statement = (
        update(table)
        .where(*(table.c[key.key] == bindparam(f"k_{key.key}") for key in key_columns))
        .values({column.key: bindparam("text")})
    )
    session.execute(
        statement,
        [
            {
                **{f"k_{key.key}": value for key, value in zip(key_columns, row[:-1], strict=True)},
                "text": (payload if short else f"{payload}{row[-1] or ''}")[:limit],
            }
            for row, payload in zip(rows, payloads, strict=True)
        ],
    )


def make_hostile(session_factory: SessionFactory) -> None:
    """Put a payload into every text the app renders: area names, worker names, household heads,
    addresses and tags, incident descriptions, reporters and notes, user display names and
    department names."""
    with session_factory.begin() as session:
        _rename(session, Area.name, (Area.county_code, Area.code))
        _rename(session, Worker.name, (Worker.county_code, Worker.worker_id), short=True)
        _rename(session, Household.head_name, (Household.county_code, Household.household_id), short=True)
        _rename(session, Household.address, (Household.county_code, Household.household_id))
        _rename(session, Incident.description, (Incident.county_code, Incident.incident_id))
        # A patrol report's reporter is the worker's id, which ties it to the worker's figures.
        _rename(
            session, Incident.reporter, (Incident.county_code, Incident.incident_id), where=Incident.channel != "patrol"
        )
        _rename(
            session,
            IncidentEvent.note,
            (IncidentEvent.county_code, IncidentEvent.incident_id, IncidentEvent.seq),
        )
        _rename(session, IncidentEvent.actor, (IncidentEvent.county_code, IncidentEvent.incident_id, IncidentEvent.seq))
        _rename(session, User.display_name, (User.username,), short=True)
        _rename(session, Department.name, (Department.county_code, Department.department_id))
        households = session.scalars(select(Household.household_id).order_by(Household.household_id)).all()
        county = session.scalar(select(Household.county_code).limit(1))
        session.add_all(HouseholdTag(county_code=county, household_id=h, tag=TAG_PAYLOAD) for h in households[::7])
