"""Rankings carry their uncertainty and the candidates' states.

Ranking entries gain the composite's interval, the tie mark, the state and its reason;
factor scores gain their interval; evaluations record the confidence and missing-evidence
policy they were computed with. Rows saved before stay readable: their new columns are
null (an interval, a tie or a state not known then).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evaluation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("missing_policy", sa.String(length=20), nullable=True))
    with op.batch_alter_table("ranking_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("composite_low", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("composite_high", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("tied", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("state", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("state_reason", sa.String(length=300), nullable=True))
    with op.batch_alter_table("factor_score", schema=None) as batch_op:
        batch_op.add_column(sa.Column("low", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("high", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("factor_score", schema=None) as batch_op:
        batch_op.drop_column("high")
        batch_op.drop_column("low")
    with op.batch_alter_table("ranking_entry", schema=None) as batch_op:
        for name in ("state_reason", "state", "tied", "composite_high", "composite_low"):
            batch_op.drop_column(name)
    with op.batch_alter_table("evaluation", schema=None) as batch_op:
        batch_op.drop_column("missing_policy")
        batch_op.drop_column("confidence")
