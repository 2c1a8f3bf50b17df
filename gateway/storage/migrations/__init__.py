"""Alembic migrations. Revisions are frozen copies of the schema at their time: they never
import ``gateway.storage.tables``, which describes only the newest schema."""
