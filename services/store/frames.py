"""Query results as DataFrames, built column-wise (building from Row objects is ~10× slower)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, Select
from sqlalchemy.orm import Session


def query_frame(connection: Connection | Session, query: Select) -> pd.DataFrame:
    result = connection.execute(query)
    names = list(result.keys())
    rows = result.all()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object if not values else None)
            for name, values in zip(names, columns, strict=True)
        }
    )
