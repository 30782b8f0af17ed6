"""`compare_rows`, how every re-import tells new, changed and unchanged rows apart: keys match as
text and as instants whatever type each side was read or parsed as, missing equals missing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from services.exchange.imports.write import compare_rows

T0 = dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC)


def _stored() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": ["1", "1", "2", "3"],
            "ts": pd.to_datetime([T0, T0 + dt.timedelta(seconds=1), T0, T0], utc=True),
            "value": [1.0, 2.0, np.nan, 4.0],
            "note": ["a", "b", None, "<b>=1"],
        }
    )


def test_rows_are_split_into_inserted_updated_and_unchanged() -> None:
    frame = pd.DataFrame(
        {
            "code": [1, 1, 2, 3, 4],  # numbers here, text in the store: the same keys
            # naive values are UTC, as the stores keep them; in another order than stored
            "ts": [T0.replace(tzinfo=None) + dt.timedelta(seconds=s) for s in (1, 0, 0, 0, 0)],
            "value": [2.0, 1.0, np.nan, 5.0, 1.0],
            "note": ["b", "a", None, "<b>=1", "x"],
        }
    )
    changes = compare_rows(frame, _stored(), ["code", "ts"], ["value", "note"])
    assert changes.unchanged == 3
    assert changes.updated[["code", "value"]].values.tolist() == [[3, 5.0]]
    assert changes.inserted["code"].tolist() == [4]


def test_an_instant_in_another_zone_is_the_same_key() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    frame = _stored().assign(ts=lambda f: f["ts"].dt.tz_convert(shanghai)).iloc[::-1]
    changes = compare_rows(frame, _stored(), ["code", "ts"], ["value", "note", "ts"])
    assert (changes.unchanged, len(changes.updated), len(changes.inserted)) == (4, 0, 0)


def test_a_composite_key_does_not_match_across_its_parts() -> None:
    # ("1", "12") and ("11", "2") would be one key if the parts were joined without care.
    stored = pd.DataFrame({"a": ["1", "11"], "b": ["12", "2"], "value": [1, 2]})
    frame = pd.DataFrame({"a": ["11", "1"], "b": ["12", "2"], "value": [1, 2]})
    changes = compare_rows(frame, stored, ["a", "b"], ["value"])
    assert (changes.unchanged, len(changes.updated), len(changes.inserted)) == (0, 0, 2)


@pytest.mark.parametrize("column,value", [("value", np.nan), ("note", "a "), ("note", None)])
def test_a_changed_or_emptied_field_is_an_update(column: str, value: object) -> None:
    frame = _stored()
    frame.loc[0, column] = value
    changes = compare_rows(frame, _stored(), ["code", "ts"], ["value", "note"])
    assert changes.updated.index.tolist() == [0]
    assert changes.unchanged == 3


def test_nothing_stored_inserts_everything() -> None:
    changes = compare_rows(_stored(), _stored().iloc[0:0], ["code", "ts"], ["value"])
    assert len(changes.inserted) == 4 and changes.updated.empty and changes.unchanged == 0
