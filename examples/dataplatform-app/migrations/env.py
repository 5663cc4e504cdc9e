"""Alembic environment: migrates the database DATABASE_URL names (the app database)."""
from __future__ import annotations

import sys
from logging.config import fileConfig

from alembic import context

from dataplatform import db
from dataplatform.settings import SettingsError, required

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

try:
    url = db.sqlalchemy_url(required("DATABASE_URL"))
except SettingsError as exc:
    sys.exit(f"alembic: {exc}")


def run_offline() -> None:
    context.configure(url=url, target_metadata=db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = db.engine(required("DATABASE_URL"), pool_pre_ping=False)
    with engine.connect() as connection:
        # One migrator at a time, even if the Job and a manual run overlap.
        connection.exec_driver_sql("SELECT pg_advisory_lock(727261)")
        try:
            context.configure(connection=connection, target_metadata=db.metadata)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            connection.exec_driver_sql("SELECT pg_advisory_unlock(727261)")
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
