"""Each provider's latest status-page honesty figures, for the page and the stability factor.

Revision ID: 0009
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_honesty",
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("outages", sa.Integer(), nullable=False),
        sa.Column("undeclared", sa.Integer(), nullable=False),
        sa.Column("median_delay_seconds", sa.Float(), nullable=True),
        sa.Column("p90_delay_seconds", sa.Float(), nullable=True),
        sa.Column("median_lag_seconds", sa.Float(), nullable=True),
        sa.Column("p90_lag_seconds", sa.Float(), nullable=True),
        sa.Column("early_resolutions", sa.Integer(), nullable=False),
        sa.Column("incidents_observed", sa.Integer(), nullable=False),
        sa.Column("incidents_no_impact", sa.Integer(), nullable=False),
        sa.Column("incidents_unknown", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("provider"),
    )


def downgrade() -> None:
    op.drop_table("provider_honesty")
