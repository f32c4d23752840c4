"""First start: the platform tenant and the first platform administrator.

The administrator's password comes from ``CENTREX_ADMIN_PASSWORD`` or is generated and returned once (the server
prints it); later starts find the administrator and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from centrex.config import Settings
from centrex.db.engine import Database
from centrex.db.models.tenant import Tenant
from centrex.db.models.user import User
from centrex.db.tracking import ChangeContext
from centrex.db.types import utcnow
from centrex.db.uow import UnitOfWork
from centrex.domain.tenancy import DEFAULT_DESTINATION_CLASSES, Role, TenantKind
from centrex.security.passwords import hash_password
from centrex.security.secrets import generate_password

PLATFORM_CODE = "platform"


@dataclass(frozen=True)
class Bootstrap:
    platform_id: str
    admin_username: str
    generated_password: str | None  # only when created now with a generated password
    created: bool


async def ensure_platform(db: Database, settings: Settings) -> Bootstrap:
    async with UnitOfWork(db, ChangeContext(actor="system:bootstrap", actor_name="bootstrap")) as uow:
        session = uow.session
        platform = (
            await session.execute(select(Tenant).where(Tenant.kind == TenantKind.PLATFORM.value))
        ).scalar_one_or_none()
        if platform is None:
            platform = Tenant(
                kind=TenantKind.PLATFORM.value,
                code=PLATFORM_CODE,
                name="Platform",
                parent_id=None,
                depth=0,
                sip_domain=settings.platform_domain,
                allowed_destination_classes=sorted(
                    {c.value for c in DEFAULT_DESTINATION_CLASSES} | {"international", "premium"}
                ),
            )
            platform.path = f"/{platform.id}/"
            session.add(platform)
            await session.flush()
        username = settings.admin_username.lower()
        admin = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
        generated = None
        created = False
        if admin is None:
            password = settings.admin_password
            if not password:
                password = generated = generate_password(20)
            session.add(
                User(
                    tenant_id=platform.id,
                    username=username,
                    name="Platform administrator",
                    role=Role.PLATFORM_ADMIN.value,
                    password_hash=hash_password(password),
                    password_changed_at=utcnow(),
                )
            )
            created = True
        await uow.commit()
        return Bootstrap(platform.id, username, generated, created)
