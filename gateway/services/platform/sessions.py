"""Console sessions, kept by the gateway: the browser's cookie holds only a random id.

A session's row (found by the id's SHA-256) holds whose session it is and until when; its
state (the access and refresh tokens, the CSRF secret, the language, a login in progress,
the last audit search) is sealed with the console key, so the database alone reads no token.
A session ends, for good, when:

* the person logs out (and the identity provider's session ends too: RP-initiated logout);
* it expires: 12 hours after login, or 30 minutes without a request;
* the person's organisation, unit or roles change at the provider: the console renews the
  access token with the refresh token at least every five minutes and compares;
* the provider will not renew it (the person was removed, the grant revoked);
* an operator revokes it (``POST /v1/sessions/revoke``, ``gateway sessions revoke``).

Rows of ended sessions are forgotten a week later by the janitor's sweep.

A copied cookie of an ended session opens nothing. Login issues a new id (no fixation).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass, field

from gateway.audit.events import AuditEvent, EventType
from gateway.crypto.cookies import seal, unseal
from gateway.crypto.keys import Labels
from gateway.domain.permissions import authorize
from gateway.domain.principals import Principal
from gateway.domain.records import SessionRecord
from gateway.services.context import Context

ABSOLUTE = 12 * 3600  # a session lives at most this long after login
IDLE = 30 * 60  # ... and this long without a request
LOGIN = 15 * 60  # a login begun must end within this
RECHECK = 5 * 60  # renew the token (and re-read the roles) at least this often
_AAD = b"gateway console session v2"


@dataclass
class SessionState:
    """What the sealed part of a session row holds."""

    token: str | None = None
    refresh_token: str | None = None
    token_expires_at: float = 0.0
    checked_at: float = 0.0
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    lang: str = "da"
    state: str | None = None  # during login: the OAuth state and PKCE verifier
    verifier: str | None = None
    next: str = "/console/"
    query: dict[str, str] = field(default_factory=dict)  # the last audit search's filters


@dataclass
class Session:
    """A session in hand: its id (the cookie's value), its state, and its row if stored."""

    id: str
    state: SessionState
    record: SessionRecord | None = None

    @property
    def logged_in(self) -> bool:
        return self.record is not None and self.record.principal is not None


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _key(ctx: Context) -> bytes:
    """The key that seals a session's state, derived from the master key (keys/README.md)."""
    return ctx.keys.derive(Labels.CONSOLE_SESSION)


def _seal(ctx: Context, state: SessionState) -> str:
    return seal(_key(ctx), json.dumps(asdict(state), separators=(",", ":")).encode(), _AAD)


def _open_state(ctx: Context, sealed: str) -> SessionState | None:
    body = unseal(_key(ctx), sealed, _AAD)
    if body is None:
        return None
    try:
        return SessionState(**json.loads(body))
    except (ValueError, TypeError):
        return None


def fresh() -> Session:
    """A new session, not stored until something worth keeping is saved."""
    return Session(secrets.token_urlsafe(32), SessionState())


def load(ctx: Context, session_id: str | None) -> Session:
    """The live session of ``session_id``; an unknown, ended, expired or idle one is a fresh
    session (an expired or idle one is ended for good on the way)."""
    if not session_id or len(session_id) > 100:
        return fresh()
    now = time.time()
    with ctx.store.unit_of_work() as uow:
        record = uow.get_session(_hash(session_id))
        if record is None or record.ended_at is not None:
            return fresh()
        reason = (
            "expired"
            if now >= record.expires_at
            else "idle"
            if record.principal is not None and now - record.last_seen_at > IDLE
            else None
        )
        if reason is not None:
            uow.end_sessions(at=now, reason=reason, id_hash=record.id_hash)
            return fresh()
    state = _open_state(ctx, record.sealed)
    if state is None:
        return fresh()
    return Session(session_id, state, record)


def save(ctx: Context, session: Session) -> None:
    """Store the session's state (a fresh one is stored as a login in progress)."""
    now = time.time()
    sealed = _seal(ctx, session.state)
    with ctx.store.unit_of_work() as uow:
        if session.record is None:
            session.record = SessionRecord(
                _hash(session.id), None, None, now, now, now + LOGIN, sealed
            )
            uow.add_session(session.record)
        else:
            uow.touch_session(
                session.record.id_hash, sealed=sealed, seen=now, expires=session.record.expires_at
            )


def signature(principal: Principal) -> str:
    """What must not change during a session: who, for whom, in which unit, with which roles."""
    return f"{principal.identity}[{','.join(sorted(principal.roles))}]"


def begin(
    ctx: Context,
    old: Session,
    principal: Principal,
    *,
    token: str,
    refresh_token: str | None,
    expires_in: float,
) -> Session:
    """A login completed: the pre-login session ends and a new one (a new id) begins."""
    now = time.time()
    state = SessionState(
        token=token,
        refresh_token=refresh_token,
        token_expires_at=now + expires_in,
        checked_at=now,
        lang=old.state.lang,
        next=old.state.next,
    )
    new = Session(secrets.token_urlsafe(32), state)
    record = SessionRecord(
        _hash(new.id),
        principal.identity,
        signature(principal),
        now,
        now,
        now + ABSOLUTE,
        _seal(ctx, state),
    )
    with ctx.store.unit_of_work() as uow:
        if old.record is not None:
            uow.end_sessions(at=now, reason="login", id_hash=old.record.id_hash)
        uow.add_session(record)
        uow.append_audit(
            AuditEvent(EventType.CONSOLE_LOGIN, principal.label, {}, {"expires_in": ABSOLUTE})
        )
    new.record = record
    return new


def renewed(ctx: Context, session: Session, principal: Principal) -> bool:
    """After the token was renewed: is it still the same person, unit and roles? If not,
    the session ends (``role-change``)."""
    assert session.record is not None
    if session.record.roles == signature(principal):
        return True
    end(ctx, session, "role-change", by=None)
    return False


def end(ctx: Context, session: Session, reason: str, *, by: Principal | None) -> None:
    """End a session for good (a logout is audited)."""
    if session.record is None:
        return
    with ctx.store.unit_of_work() as uow:
        uow.end_sessions(at=time.time(), reason=reason, id_hash=session.record.id_hash)
        if by is not None and reason == "logout":
            uow.append_audit(AuditEvent(EventType.CONSOLE_LOGOUT, by.label, {}, {}))


def revoke(
    ctx: Context,
    *,
    by: Principal,
    person: str | None = None,
    organisation: str | None = None,
) -> list[str]:
    """An operator ends the console sessions of a person (an identity), of an organisation,
    or every session when neither is named; audited."""
    authorize(by, "session.revoke")
    with ctx.store.unit_of_work() as uow:
        ended = uow.end_sessions(
            at=time.time(), reason="revoked", principal=person, organisation=organisation
        )
        uow.append_audit(
            AuditEvent(
                EventType.SESSIONS_REVOKED,
                by.label,
                {},
                {"sessions": len(ended), "person": person, "organisation": organisation},
            )
        )
    return ended


def live(ctx: Context, *, by: Principal) -> list[SessionRecord]:
    """The console sessions that are live now (operators)."""
    authorize(by, "session.list")
    with ctx.store.unit_of_work() as uow:
        return uow.live_sessions(time.time())
