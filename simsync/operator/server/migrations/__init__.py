"""Alembic migrations of the operator server's database (run by ``sqlstore.upgrade``)."""
