"""Probe results of reasoning models: first answer token, reasoning tokens, answer speed.

probe_result gains first_answer_seconds, reasoning_tokens, reasoning_tokens_estimated and
answer_tokens_per_second (docs/architecture.md, Measurement definitions); probe_rollup gains
a first_answer sketch beside ttft. Rows saved before stay readable: their new columns are
null (not measured then).

Revision ID: 0013
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("probe_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_answer_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("reasoning_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reasoning_tokens_estimated", sa.Boolean(),
                                      nullable=True))
        batch_op.add_column(sa.Column("answer_tokens_per_second", sa.Float(), nullable=True))
    with op.batch_alter_table("probe_rollup", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_answer", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("probe_rollup", schema=None) as batch_op:
        batch_op.drop_column("first_answer")
    with op.batch_alter_table("probe_result", schema=None) as batch_op:
        for name in ("answer_tokens_per_second", "reasoning_tokens_estimated",
                     "reasoning_tokens", "first_answer_seconds"):
            batch_op.drop_column(name)
