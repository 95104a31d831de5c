"""The operator's SyncML server: DB2 (:class:`SqlStore`, SQLAlchemy 2 + Alembic) and the HTTP
endpoint (:func:`create_app`, FastAPI) around the sans-IO engine in ``simsync.syncml.engine``."""

from .app import DEFAULT_DATABASES, app_from_env, create_app, db_url_from, default_config
from .sqlstore import AccountInfo, SqlStore, StoreError, upgrade

__all__ = ["DEFAULT_DATABASES", "AccountInfo", "SqlStore", "StoreError", "app_from_env",
           "create_app", "db_url_from", "default_config", "upgrade"]
