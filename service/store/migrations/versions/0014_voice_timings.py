"""The voice probe's timings and audio tokens as probe_result columns (queryable, like
ttft_seconds), and audio prices on price_point.

Revision ID: 0014
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROBE_COLUMNS = (
    ("first_audio_seconds", sa.Float()),
    ("first_speech_seconds", sa.Float()),
    ("first_transcript_seconds", sa.Float()),
    ("realtime_factor", sa.Float()),
    ("playback_stall_seconds", sa.Float()),
    ("audio_input_tokens", sa.Integer()),
    ("audio_output_tokens", sa.Integer()),
)
_PRICE_COLUMNS = ("audio_input_per_mtok", "audio_output_per_mtok")


def upgrade() -> None:
    with op.batch_alter_table("probe_result") as batch:
        for name, kind in _PROBE_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("price_point") as batch:
        for name in _PRICE_COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("price_point") as batch:
        for name in reversed(_PRICE_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("probe_result") as batch:
        for name, _ in reversed(_PROBE_COLUMNS):
            batch.drop_column(name)
