"""Database access: engines from the manifests' URLs and the schema (SQLAlchemy Core)."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa

from .settings import SettingsError

metadata = sa.MetaData()

# The app database; Alembic (migrations/) owns this schema.
series = sa.Table(
    "series",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("units", sa.Text, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
)

observations = sa.Table(
    "observations",
    metadata,
    sa.Column("series_id", sa.String(32), sa.ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)
sa.Index("observations_date", observations.c.date)

ingest_runs = sa.Table(
    "ingest_runs",
    metadata,
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("tasks", sa.Text, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("rows_written", sa.Integer, nullable=False),
    sa.Column("rows_deleted", sa.Integer, nullable=False),
)

# The features database, owned by the worker's login; the worker creates this table itself.
features_metadata = sa.MetaData()
features = sa.Table(
    "features",
    features_metadata,
    sa.Column("series_id", sa.String(32), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("ma_7", sa.Float, nullable=False),
    sa.Column("ma_30", sa.Float, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)


def sqlalchemy_url(url: str, variable: str = "DATABASE_URL") -> str:
    """postgresql://… (as the manifests write it) with the psycopg 3 driver SQLAlchemy needs."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgres", "postgresql"):
        raise SettingsError(f"environment variable {variable} must be a postgresql:// URL, got scheme {parts.scheme!r}")
    if not parts.hostname:
        raise SettingsError(f"environment variable {variable} has no host")
    return urlunsplit(("postgresql+psycopg",) + tuple(parts[1:]))


def engine(url: str, variable: str = "DATABASE_URL", **kwargs) -> sa.Engine:
    kwargs.setdefault("pool_pre_ping", True)
    # A refused or unreachable server fails fast instead of hanging a probe or a request.
    kwargs.setdefault("connect_args", {"connect_timeout": 5, "application_name": "dataplatform"})
    return sa.create_engine(sqlalchemy_url(url, variable), **kwargs)
