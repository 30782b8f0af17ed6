"""Shared pieces of the pages that shape what a table shows."""

from __future__ import annotations

import pandas as pd

from pages.components import local_times


def test_stored_instants_are_shown_in_beijing_time_and_other_columns_as_they_are() -> None:
    frame = pd.DataFrame(
        {
            "worker_id": ["W1", "W2"],
            "ts": pd.to_datetime(["2026-11-24T00:30:42Z", "2026-11-24T16:00:00Z"], utc=True),
            "accuracy_m": [6.3, 12.0],
        }
    )
    shown = local_times(frame)
    assert shown["ts"].tolist() == ["2026-11-24 08:30:42", "2026-11-25 00:00:00"]
    assert shown[["worker_id", "accuracy_m"]].equals(frame[["worker_id", "accuracy_m"]])
