"""Alert delivery: one row per event and sink, open alert conditions, API silences.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("sink", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=True),
        sa.Column("repeat_key", sa.String(length=300), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "sink"),
    )
    with op.batch_alter_table("alert_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_alert_delivery_batch", ["batch"], unique=False)
        batch_op.create_index("ix_alert_delivery_event_id", ["event_id"], unique=False)
        batch_op.create_index("ix_alert_delivery_due", ["sink", "status", "next_attempt_at"],
                              unique=False)
        batch_op.create_index("ix_alert_delivery_repeat", ["sink", "repeat_key"], unique=False)
    op.create_table(
        "alert_condition",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "alert_silence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matchers", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_silence", schema=None) as batch_op:
        batch_op.create_index("ix_alert_silence_ends_at", ["ends_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_silence", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_silence_ends_at")
    op.drop_table("alert_silence")
    op.drop_table("alert_condition")
    with op.batch_alter_table("alert_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_delivery_repeat")
        batch_op.drop_index("ix_alert_delivery_due")
        batch_op.drop_index("ix_alert_delivery_event_id")
        batch_op.drop_index("ix_alert_delivery_batch")
    op.drop_table("alert_delivery")
