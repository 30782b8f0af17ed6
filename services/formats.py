"""The DESIGN.md exchange formats: the fields of each file, in order.  Import requires them and
export writes them, so the two cannot drift apart."""

from __future__ import annotations

GRID_FIELDS = ("grid_code", "grid_name", "village_code", "village_name", "township_code", "township_name")
HOUSEHOLD_FIELDS = ("household_id", "head_name", "address", "members", "phone", "lon", "lat", "tags")
HOUSEHOLD_OPTIONAL = ("grid_code", "id_number")  # id_number: the head's 居民身份证号 (personal data)
WORKER_FIELDS = ("worker_id", "name", "phone", "role", "grid_codes")
INCIDENT_FIELDS = (
    "incident_id",
    "category",
    "severity",
    "lon",
    "lat",
    "description",
    "channel",
    "reported_at",
    "validated_at",
    "rejected_at",
    "dispatched_at",
    "assignee_worker_id",
    "handled_at",
    "closed_at",
    "level",
    "satisfaction",
)
FIX_FIELDS = ("worker_id", "ts", "lon", "lat", "accuracy_m")
