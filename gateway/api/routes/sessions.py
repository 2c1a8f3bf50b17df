"""Console sessions, for operators: which are live, and ending them (a person's, an
organisation's, or all) when a person leaves or a device is lost."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from gateway.api import schemas
from gateway.api.deps import Ctx, CurrentPrincipal
from gateway.api.schemas import answer
from gateway.api.use_cases import use_case
from gateway.domain import identifiers
from gateway.services.platform import sessions as console_sessions

router = APIRouter(prefix="/v1/sessions", tags=["operations"])


class Revoke(BaseModel):
    """Whose sessions to end: a person (their identity, e.g. ``hub-legal/legal/person:jurist``),
    an organisation, or, naming neither, every live session."""

    model_config = ConfigDict(extra="forbid")
    person: str | None = None
    organisation: str | None = None


@router.get(
    "",
    openapi_extra=use_case("session.list"),
    response_model=None,
    responses=answer(schemas.ConsoleSessions, "The live console sessions"),
)
def sessions(ctx: Ctx, by: CurrentPrincipal) -> dict[str, Any]:
    return {
        "sessions": [
            {
                "principal": s.principal,
                "roles": s.roles,
                "created_at": s.created_at,
                "last_seen_at": s.last_seen_at,
                "expires_at": s.expires_at,
            }
            for s in console_sessions.live(ctx, by=by)
        ]
    }


@router.post(
    "/revoke",
    openapi_extra=use_case("session.revoke"),
    response_model=None,
    responses=answer(schemas.Revoked, "The sessions ended"),
)
def revoke(ctx: Ctx, by: CurrentPrincipal, body: Revoke) -> dict[str, Any]:
    person = (
        identifiers.identifier("person", body.person, identifiers.IDENTITY) if body.person else None
    )
    organisation = (
        identifiers.identifier("organisation", body.organisation, identifiers.ORGANISATION)
        if body.organisation
        else None
    )
    ended = console_sessions.revoke(ctx, by=by, person=person, organisation=organisation)
    return {"ended": len(ended), "principals": sorted(set(ended))}
