"""The operator server's JSON admin API under ``/admin`` (listed in ``/openapi.json``).

Accounts (list, create, delete, change password), a user's devices (anchors per database, last
sync; deleting one forgets its anchors and ID maps, so its next sync is a slow sync), a user's
databases with item counts, session states (list, delete) and a user database's items (paged
list, get, delete, add one from vCard / iCalendar text).

Protected by one admin credential: a bearer token (``Authorization: Bearer TOKEN``) whose
SHA-256 (hex) the server is given -- never the token itself. Without a configured credential
every admin route answers 404; a missing or wrong token is 401; the digests are compared in
constant time. Errors are JSON ``{"detail": ...}``: 401, 404 (unknown user, device, database,
item, session), 409 (user exists), 422 (bad body or parameters), never a traceback.

Items are written like the engine writes a device's item (same match keys, no origin), so every
device gets the change at its next sync and a slow sync matches an added item by content.

``admin_router(store, config, token_sha256)`` builds the router; :func:`create_app` mounts it.
"""

# no "from __future__ import annotations": FastAPI reads the route signatures, whose types
# refer to names local to admin_router
import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from simsync import pim
from simsync.syncml.engine import ServerConfig
from simsync.syncml.engine.common import content_keys
from simsync.syncml.engine.server import DatabaseConfig

from .sqlstore import StoreError

__all__ = ["admin_router", "check_token_digest", "token_digest"]

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
MAX_ITEM = 1_000_000            # characters of one item added through the API


def token_digest(token: str) -> str:
    """The hex SHA-256 of an admin token (what the server is configured with)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token_digest(value: str | None) -> str | None:
    """A configured digest, normalised (lower-case hex); None/empty: admin API disabled."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _HEX64.match(value):
        raise ValueError("the admin token digest must be 64 hex digits (the SHA-256 of the token)")
    return value.lower()


# ------------------------------------------------------------------------------ JSON bodies


class AccountOut(BaseModel):
    user: str
    enabled: bool
    created: float = Field(description="creation time, seconds since the epoch")
    locked_until: float | None = Field(
        None, description="logins refused until then (seconds since the epoch) after too "
                          "many failed logins in a row; null: not locked")


def _resume_parts(key: str) -> tuple[str, str]:
    """(device key, database) of a saved sync's key ``resume<US>device<US>database``; the
    database is the last part, as a guest's device key holds a separator itself."""
    rest = key.split("\x1f", 1)[1] if "\x1f" in key else ""
    dev, _, db = rest.rpartition("\x1f")
    return dev, db


def _account_out(a) -> AccountOut:
    locked = a.locked_until if a.locked_until > time.time() else None
    return AccountOut(user=a.user, enabled=a.enabled, created=a.created, locked_until=locked)


class AccountIn(BaseModel):
    user: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f:]+$",
                      description="no colon, no control characters")
    password: str = Field(min_length=1, max_length=1024)


class PasswordIn(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


class AnchorOut(BaseModel):
    database: str
    client_last: str | None
    server_anchor: str | None
    counter: int = Field(description="the database's change counter at that sync")
    retry: int = Field(description="server changes the device has not accepted yet")
    mapped: int = Field(description="items in the device's LUID-GUID map")


class DeviceOut(BaseModel):
    device_id: str
    user: str
    databases: list[AnchorOut]
    last_sync: float | None = Field(description="end of the last completed session kept, "
                                                "seconds since the epoch")
    has_devinf: bool


class DatabaseOut(BaseModel):
    database: str
    content_type: str | None
    items: int
    counter: int
    configured: bool


class ItemOut(BaseModel):
    guid: str
    content_type: str
    version: int
    content: str
    encoding: Literal["text", "base64"] = "text"


class ItemPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ItemOut]


class ItemIn(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_ITEM,
                         description="one vCard or one iCalendar / vCalendar object")
    content_type: str | None = Field(default=None, description="default: the database's type")


class SessionOut(BaseModel):
    id: str = Field(description="opaque id for DELETE /admin/sessions/{id}")
    kind: Literal["session", "saved"] = Field(
        description="session: a SyncML session's state; saved: a suspended database sync kept "
                    "for a resume")
    active: bool
    user: str | None
    device_id: str | None
    database: str | None
    phase: str | None
    updated: float


# ------------------------------------------------------------------------------ helpers


def _q(name: str) -> str:
    """A name for an error message: quoted, at most 80 characters of it."""
    return repr(name if len(name) <= 80 else name[:80] + "...")


def _item_out(rec) -> ItemOut:
    if isinstance(rec.content, bytes):
        return ItemOut(guid=rec.guid, content_type=rec.content_type, version=rec.version,
                       content=base64.b64encode(rec.content).decode("ascii"), encoding="base64")
    return ItemOut(guid=rec.guid, content_type=rec.content_type, version=rec.version,
                   content=rec.content)


def _session_id(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii").rstrip("=")


def _session_key(sid: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(sid + "=" * (-len(sid) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _describe(key: str, state: str, updated: float, device_users: dict[str, str | None]
              ) -> SessionOut:
    sid = _session_id(key)
    try:
        d = json.loads(state)
    except ValueError:
        d = {}
    if not isinstance(d, dict):
        d = {}
    if key.startswith("resume\x1f"):
        dev, db = _resume_parts(key)
        return SessionOut(id=sid, kind="saved", active=False, user=device_users.get(dev),
                          device_id=dev or None, database=db or None, phase="suspended",
                          updated=updated)
    phase = d.get("phase") if isinstance(d.get("phase"), str) else None
    dev = d.get("device_id") if isinstance(d.get("device_id"), str) else None
    user = d.get("user") if isinstance(d.get("user"), str) else None
    return SessionOut(id=sid, kind="session", active=phase not in (None, "done", "suspended"),
                      user=user, device_id=dev, database=None, phase=phase, updated=updated)


# ------------------------------------------------------------------------------ the router


def admin_router(store, config: ServerConfig, token_sha256: str | None) -> APIRouter:
    """The ``/admin`` routes over ``store`` (a :class:`SqlStore`); ``token_sha256``: the hex
    SHA-256 of the admin bearer token, None to disable the admin API (404)."""
    digest = check_token_digest(token_sha256)
    bearer = HTTPBearer(auto_error=False, scheme_name="adminToken",
                        description="the admin token; the server keeps its SHA-256")

    def authorize(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                  ) -> None:
        if digest is None:
            raise HTTPException(404, "the admin API is disabled (no admin credential configured)")
        got = token_digest(creds.credentials) if creds is not None else ""
        # compare_digest of equal-length ASCII strings: no early exit on the first difference
        if not hmac.compare_digest(got.ljust(64, "x"), digest):
            raise HTTPException(401, "a valid admin bearer token is required",
                                headers={"WWW-Authenticate": 'Bearer realm="simsync-admin"'})

    def no_nul(request: Request) -> None:
        # a NUL cannot name anything stored (and PostgreSQL text refuses it): nothing to find
        if any("\x00" in v for v in request.path_params.values()):
            raise HTTPException(404, "no such resource (NUL in the path)")

    r = APIRouter(prefix="/admin", tags=["admin"],
                  dependencies=[Depends(authorize), Depends(no_nul)])
    configured = {d.name: d for d in config.databases}

    def need_user(user: str) -> None:
        if store.get_account(user) is None:
            raise HTTPException(404, f"no user {_q(user)}")

    def need_db(user: str, database: str) -> DatabaseConfig | None:
        need_user(user)
        if database in configured:
            return configured[database]
        if database in store.database_stats(user):
            return None
        raise HTTPException(404, f"user {_q(user)} has no database {_q(database)}")

    # -------------------------------------------------------------- accounts
    @r.get("/accounts", response_model=list[AccountOut], summary="List the accounts")
    def list_accounts() -> list[AccountOut]:
        return [_account_out(a) for a in store.list_accounts()]

    @r.post("/accounts", response_model=AccountOut, status_code=201,
            summary="Create an account with a password",
            responses={409: {"description": "the user exists"}})
    def add_account(body: AccountIn) -> AccountOut:
        if store.get_account(body.user) is not None:
            raise HTTPException(409, f"user {_q(body.user)} exists")
        try:
            store.add_account(body.user, body.password)
        except StoreError as exc:
            if store.get_account(body.user) is not None:      # created meanwhile
                raise HTTPException(409, f"user {_q(body.user)} exists") from None
            raise HTTPException(422, str(exc)) from None
        return _account_out(next(a for a in store.list_accounts() if a.user == body.user))

    @r.delete("/accounts/{user}", status_code=204,
              summary="Delete an account with all of its items, devices and logs")
    def delete_account(user: str) -> Response:
        try:
            store.delete_account(user)
        except StoreError:
            raise HTTPException(404, f"no user {_q(user)}") from None
        return Response(status_code=204)

    @r.post("/accounts/{user}/unlock", status_code=204,
            summary="Lift the login lock set after too many failed logins")
    def unlock(user: str) -> Response:
        try:
            store.unlock(user)
        except StoreError:
            raise HTTPException(404, f"no user {_q(user)}") from None
        return Response(status_code=204)

    @r.put("/accounts/{user}/password", status_code=204, summary="Change a password")
    def set_password(user: str, body: PasswordIn) -> Response:
        try:
            store.set_password(user, body.password)
        except StoreError:
            raise HTTPException(404, f"no user {_q(user)}") from None
        return Response(status_code=204)

    # -------------------------------------------------------------- devices
    def last_syncs() -> dict[str, float]:
        out: dict[str, float] = {}
        for key, state, updated in store.list_sessions():
            s = _describe(key, state, updated, {})
            if s.kind == "session" and s.phase == "done" and s.device_id:
                out[s.device_id] = max(out.get(s.device_id, 0.0), updated)
        return out

    def device_out(dev, last: dict[str, float]) -> DeviceOut:
        dbs = [AnchorOut(database=name, client_last=a.client_last,
                         server_anchor=a.server_anchor, counter=a.counter, retry=len(a.retry),
                         mapped=store.map_size(dev.device_id, name))
               for name, a in store.device_anchors(dev.device_id).items()]
        return DeviceOut(device_id=dev.device_id, user=dev.user, databases=dbs,
                         last_sync=last.get(dev.device_id), has_devinf=bool(dev.devinf_xml))

    @r.get("/accounts/{user}/devices", response_model=list[DeviceOut],
           summary="A user's devices with their anchors per database and last sync")
    def list_devices(user: str) -> list[DeviceOut]:
        need_user(user)
        last = last_syncs()
        return [device_out(d, last) for d in store.list_devices(user)]

    def user_device(user: str, device_id: str):
        need_user(user)
        dev = store.get_device(device_id)
        if dev is None or dev.user != user:
            raise HTTPException(404, f"user {_q(user)} has no device {_q(device_id)}")
        return dev

    @r.get("/accounts/{user}/devices/{device_id}", response_model=DeviceOut,
           summary="One device of a user")
    def get_device(user: str, device_id: str) -> DeviceOut:
        return device_out(user_device(user, device_id), last_syncs())

    @r.delete("/accounts/{user}/devices/{device_id}", status_code=204,
              summary="Forget a device (anchors, ID maps): its next sync is a slow sync")
    def delete_device(user: str, device_id: str) -> Response:
        with store.transaction():
            user_device(user, device_id)
            store.forget_device(device_id)
        return Response(status_code=204)

    # -------------------------------------------------------------- databases
    @r.get("/accounts/{user}/databases", response_model=list[DatabaseOut],
           summary="A user's databases with their item counts")
    def list_databases(user: str) -> list[DatabaseOut]:
        need_user(user)
        stats = store.database_stats(user)
        names = sorted(set(configured) | set(stats))
        return [DatabaseOut(database=n, items=stats.get(n, (0, 0))[0],
                            counter=stats.get(n, (0, 0))[1],
                            content_type=configured[n].content_type if n in configured else None,
                            configured=n in configured) for n in names]

    # -------------------------------------------------------------- items
    base = "/accounts/{user}/databases/{database}/items"

    @r.get(base, response_model=ItemPage, summary="A page of a user database's items")
    def list_items(user: str, database: str, offset: int = Query(0, ge=0, le=2 ** 62),
                   limit: int = Query(100, ge=1, le=1000)) -> ItemPage:
        need_db(user, database)
        total, recs = store.item_page(user, database, offset, limit)
        return ItemPage(total=total, offset=offset, limit=limit,
                        items=[_item_out(x) for x in recs])

    @r.get(base + "/{guid}", response_model=ItemOut, summary="One item")
    def get_item(user: str, database: str, guid: str) -> ItemOut:
        need_db(user, database)
        rec = store.get_item(user, database, guid)
        if rec is None:
            raise HTTPException(404, f"no item {_q(guid)} in {_q(user)}'s {_q(database)}")
        return _item_out(rec)

    @r.delete(base + "/{guid}", status_code=204,
              summary="Delete one item (devices delete it at their next sync)")
    def delete_item(user: str, database: str, guid: str) -> Response:
        with store.transaction():
            need_db(user, database)
            if not store.delete_item(user, database, guid):
                raise HTTPException(404, f"no item {_q(guid)} in {_q(user)}'s {_q(database)}")
        return Response(status_code=204)

    @r.post(base, response_model=ItemOut, status_code=201,
            summary="Add one item from vCard or iCalendar text")
    def add_item(user: str, database: str, body: ItemIn) -> ItemOut:
        db = need_db(user, database)
        ctype = body.content_type or (db.content_type if db is not None else None)
        if ctype is None:
            raise HTTPException(422, "content_type is required for this database")
        try:
            kind = pim.ContentType.of(ctype)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        if db is not None and kind.is_contact != pim.ContentType.of(db.content_type).is_contact:
            raise HTTPException(422, f"{_q(database)} holds "
                                     f"{'contacts' if not kind.is_contact else 'calendar items'}"
                                     f", not {kind.value}")
        if "\x00" in body.content:
            raise HTTPException(422, "the item contains a NUL character")
        try:
            pim.parse(body.content, kind)
        except pim.PimParseError as exc:
            raise HTTPException(422, f"not a valid {kind.value} item: {exc}") from None
        match = db.match if db is not None else pim.MatchConfig()
        keys = content_keys(body.content, ctype, match) if match is not None else ()
        with store.transaction():
            need_user(user)
            rec = store.add_item(user, database, body.content, ctype, keys=keys)
        return _item_out(rec)

    # -------------------------------------------------------------- sessions
    @r.get("/sessions", response_model=list[SessionOut],
           summary="Session states kept in the database (running, ended, saved for resume)")
    def list_sessions(user: str | None = None, active: bool | None = None
                      ) -> list[SessionOut]:
        rows = store.list_sessions()
        owners: dict[str, str | None] = {}
        for key, _state, _u in rows:
            if key.startswith("resume\x1f"):
                dev, _db = _resume_parts(key)
                if dev not in owners:
                    d = store.get_device(dev)
                    owners[dev] = d.user if d is not None else None
        out = [_describe(k, s, u, owners) for k, s, u in rows]
        if user is not None:
            out = [s for s in out if s.user == user]
        if active is not None:
            out = [s for s in out if s.active == active]
        return out

    @r.delete("/sessions/{session_id}", status_code=204,
              summary="Drop a session state (a running session must start again)")
    def delete_session(session_id: str) -> Response:
        key = _session_key(session_id)
        with store.transaction():
            if key is None or store.load_session(key) is None:
                raise HTTPException(404, f"no session {_q(session_id)}")
            store.delete_session(key)
        return Response(status_code=204)

    return r
