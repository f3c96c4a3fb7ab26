"""Hourly probe rollups (long windows without raw rows) and the announced top choice.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "probe_rollup",
        sa.Column("candidate_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=60), nullable=False),
        sa.Column("context_tokens", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        sa.Column("config_errors", sa.Integer(), nullable=False),
        sa.Column("judged_successes", sa.Integer(), nullable=False),
        sa.Column("judged_trials", sa.Integer(), nullable=False),
        sa.Column("judged_runs", sa.Integer(), nullable=False),
        sa.Column("ttft", sa.JSON(), nullable=False),
        sa.Column("speed", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("candidate_id", "kind", "region", "context_tokens",
                                "bucket_start"),
    )
    with op.batch_alter_table("probe_rollup", schema=None) as batch_op:
        batch_op.create_index("ix_probe_rollup_bucket", ["bucket_start"], unique=False)
    op.create_table(
        "top_choice",
        sa.Column("workload", sa.String(length=100), nullable=False),
        sa.Column("candidate", sa.String(length=200), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("challenger", sa.String(length=200), nullable=True),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workload"),
    )
    _backfill_rollups()


def _backfill_rollups() -> None:
    # Results written before this revision get their rollups here, through the same code
    # the writer uses, so old and new hours are summed alike. (A data migration that
    # imports the application: acceptable while the rollup format is the one defined now.)
    from service.store.models import ProbeResultRow
    from service.store.rollup import apply_rollups

    conn = op.get_bind()
    table = ProbeResultRow.__table__  # type: ignore[attr-defined]
    # The model's columns that exist at this revision: later ones are added by later
    # revisions, and selecting them here would fail.
    existing = {column["name"] for column in sa.inspect(conn).get_columns("probe_result")}
    columns = [column for column in table.c if column.name in existing]
    last_id = 0
    while True:
        rows = conn.execute(sa.select(*columns).where(table.c.id > last_id)
                            .order_by(table.c.id).limit(BACKFILL_BATCH)).all()
        if not rows:
            return
        apply_rollups(conn, rows)  # type: ignore[arg-type]
        last_id = rows[-1].id


def downgrade() -> None:
    op.drop_table("top_choice")
    with op.batch_alter_table("probe_rollup", schema=None) as batch_op:
        batch_op.drop_index("ix_probe_rollup_bucket")
    op.drop_table("probe_rollup")
