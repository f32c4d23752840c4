"""``/api/v1/auth``: login (sets the session and CSRF cookies), logout, me, password."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field, StringConstraints, field_validator
from sqlalchemy import delete, select

from centrex.api.auth import CSRF_COOKIE, SESSION_COOKIE, client_ip
from centrex.api.deps import PrincipalDep, StateDep, UowDep, require
from centrex.api.route import CentrexRoute, PublicRoute
from centrex.db.models.login_session import LoginSession
from centrex.db.models.tenant import Tenant
from centrex.db.models.user import User
from centrex.db.types import utcnow
from centrex.domain.errors import InvalidInput, PermissionDenied, Unauthenticated
from centrex.domain.ids import new_id
from centrex.domain.tenancy import PERMISSION_CATALOGUE
from centrex.resources.fields import StrictModel
from centrex.resources.users.schemas import Password, check_password_policy
from centrex.security.keys import digest, new_token
from centrex.security.passwords import hash_password, verify_password

public = APIRouter(prefix="/auth", tags=["auth"], route_class=PublicRoute)
private = APIRouter(prefix="/auth", tags=["auth"], route_class=CentrexRoute)


class LoginIn(StrictModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Me(BaseModel):
    kind: str = Field(description="user, api_key or session")
    id: str
    name: str
    role: str
    tenant_id: str
    tenant_code: str
    read_only: bool
    extension_id: str | None
    permissions: list[str]


class LoginOut(BaseModel):
    me: Me
    csrf_token: str = Field(description="Send as `X-CSRF-Token` on cookie-authenticated writes.")
    expires_at: datetime


class PasswordChange(StrictModel):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    new_password: Password

    _pw = field_validator("new_password")(check_password_policy)


async def _me(uow: UowDep, principal: PrincipalDep) -> Me:
    code = await uow.session.scalar(select(Tenant.code).where(Tenant.id == principal.tenant_id))
    return Me(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        role=principal.role.value,
        tenant_id=principal.tenant_id,
        tenant_code=code or "",
        read_only=principal.read_only,
        extension_id=principal.extension_id,
        permissions=[p for p in PERMISSION_CATALOGUE if principal.can(p)],
    )


@public.post("/login", response_model=LoginOut, summary="Log in: sets the session cookie and returns a CSRF token")
async def login(body: LoginIn, request: Request, response: Response, uow: UowDep, state: StateDep) -> LoginOut:
    principal = await state.auth.check_password(body.username, body.password, client_ip(request), uow.session)
    token, csrf = new_token(32), new_token(24)
    expires = utcnow() + timedelta(seconds=state.settings.session_ttl_seconds)
    uow.session.add(
        LoginSession(
            id=new_id("ses"),
            user_id=principal.id,
            token_hash=digest(token),
            csrf_token=csrf,
            expires_at=expires,
            ip=client_ip(request),
            user_agent=(request.headers.get("user-agent") or "")[:300],
        )
    )
    user = await uow.session.get(User, principal.id)
    if user is not None:
        user.last_login_at = utcnow()
    await uow.session.flush()
    cookie = {
        "max_age": state.settings.session_ttl_seconds,
        "secure": state.settings.cookie_secure,
        "samesite": "strict",
        "path": "/",
    }
    response.set_cookie(SESSION_COOKIE, token, httponly=True, **cookie)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **cookie)  # type: ignore[arg-type]
    request.state.principal = principal
    return LoginOut(me=await _me(uow, principal), csrf_token=csrf, expires_at=expires)


@private.post("/logout", status_code=204, summary="Log out: ends the session")
async def logout(request: Request, uow: UowDep, principal: PrincipalDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if principal.kind == "session" and token:
        await uow.session.execute(delete(LoginSession).where(LoginSession.token_hash == digest(token)))
        uow.session.info.setdefault("touched", set()).add("login_sessions")
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@private.get("/me", response_model=Me, summary="Who am I, and what may I do")
async def me(uow: UowDep, principal: PrincipalDep) -> Me:
    return await _me(uow, principal)


@private.post(
    "/password",
    status_code=204,
    dependencies=[Depends(require("auth.password"))],
    summary="Change my own password (users and sessions)",
)
async def change_password(body: PasswordChange, uow: UowDep, principal: PrincipalDep) -> Response:
    if principal.user_id is None:
        raise PermissionDenied("Only users have passwords; API keys are rotated instead")
    user = await uow.session.get(User, principal.user_id)
    if user is None:
        raise Unauthenticated("Unknown user")
    if not verify_password(user.password_hash, body.current_password):
        raise InvalidInput.field("current_password", "does not match", "mismatch")
    user.password_hash = hash_password(body.new_password)
    user.password_changed_at = utcnow()
    uow.mark(user, "change_password")
    await uow.session.flush()
    return Response(status_code=204)


router = APIRouter()
router.include_router(public)
router.include_router(private)
