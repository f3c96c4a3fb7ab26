"""Price points carry cache-write, batch and context-tier prices.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Matches service/scoring/evidence.py Price/PriceTier. `tiers` is a JSON list, never NULL:
existing rows get [] before the column is made NOT NULL (SQLite rebuilds the table in batch
mode to change nullability; PostgreSQL alters it in place).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("price_point") as batch:
        batch.add_column(sa.Column("cache_write_per_mtok", sa.Float(), nullable=True))
        batch.add_column(sa.Column("batch_input_per_mtok", sa.Float(), nullable=True))
        batch.add_column(sa.Column("batch_output_per_mtok", sa.Float(), nullable=True))
        batch.add_column(sa.Column("tiers", sa.JSON(), nullable=True))
    op.execute("UPDATE price_point SET tiers = '[]' WHERE tiers IS NULL")
    with op.batch_alter_table("price_point") as batch:
        batch.alter_column("tiers", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("price_point") as batch:
        for column in ("tiers", "batch_output_per_mtok", "batch_input_per_mtok",
                       "cache_write_per_mtok"):
            batch.drop_column(column)
