"""Series, observations and worker runs.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("units", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_table(
        "observations",
        sa.Column("series_id", sa.String(32), sa.ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("date", sa.Date, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("observations_date", "observations", ["date"])
    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tasks", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("rows_written", sa.Integer, nullable=False),
        sa.Column("rows_deleted", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ingest_runs")
    op.drop_index("observations_date", table_name="observations")
    op.drop_table("observations")
    op.drop_table("series")
