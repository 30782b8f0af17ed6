"""The post a worker holds as the county register words it (专职网格员, 楼栋长, 网格指导员 …),
kept beside the stored role for display.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both engines (SQLite ≥ 3.35 drops columns itself): a batch rebuild of
# `workers` would trip the foreign keys of `worker_grids` on a filled database.
def upgrade() -> None:
    op.add_column("workers", sa.Column("role_title", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("workers", "role_title")
