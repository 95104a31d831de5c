"""Sans-IO OMA DS 1.2 (SyncML) session engines.

* :class:`ServerSession` -- ``receive(msg) -> reply``; all state in a :class:`SyncStore`
  (:class:`MemoryStore` in memory), the session state included, so any worker can serve
  any message of a session.
* :class:`ClientSession` -- ``start() -> msg``, ``receive(reply) -> next msg | None`` over a
  :class:`ClientStore`.
"""

from .auth import basic_credential, md5_credential, md5_digest
from .client import (
    ClientConfig,
    ClientDatabase,
    ClientResult,
    ClientSession,
    ClientStore,
    DeviceFull,
)
from .conflict import ConflictPolicy
from .server import DatabaseConfig, ServerConfig, ServerSession, ServerState
from .store import (
    Account,
    ChangeKind,
    ConflictRecord,
    DbAnchor,
    DeviceState,
    ItemRecord,
    MemoryStore,
    NewItem,
    SyncStore,
)

__all__ = [
    "Account", "ChangeKind", "ClientConfig", "ClientDatabase", "ClientResult", "ClientSession",
    "ClientStore", "ConflictPolicy", "ConflictRecord", "DatabaseConfig", "DbAnchor", "DeviceFull",
    "DeviceState", "ItemRecord", "MemoryStore", "NewItem", "ServerConfig", "ServerSession", "ServerState",
    "SyncStore", "basic_credential", "md5_credential", "md5_digest",
]
