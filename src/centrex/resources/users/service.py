"""User rules: roles fit the tenant's kind and never exceed the actor's; end users have an extension;
nobody disables, demotes or deletes themselves."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_, select

from centrex.db.models.contacts import Contact, Phonebook
from centrex.db.models.extension import Extension
from centrex.db.models.user import User
from centrex.db.types import utcnow
from centrex.domain.errors import Conflict, Duplicate, InvalidInput, InvalidReference, PermissionDenied
from centrex.domain.tenancy import Role, TenantScope, outranks, roles_for_kind
from centrex.resources.common import apply_changes, check_etag
from centrex.resources.extensions.repository import ExtensionRepository
from centrex.resources.service import ResourceService
from centrex.resources.users.repository import UserRepository
from centrex.resources.users.schemas import UserCreate, UserCreated, UserFilters, UserOut, UserUpdate
from centrex.security.passwords import hash_password
from centrex.security.secrets import generate_password


class UserService(ResourceService[User]):
    repository = UserRepository
    out_model = UserOut
    created_model = UserCreated

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, UserFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.role:
            conds.append(User.role == filters.role)
        if filters.enabled is not None:
            conds.append(User.enabled == filters.enabled)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(User.username.like(like), func.lower(User.name).like(like)))
        return conds

    def _check_role(self, scope: TenantScope, role: str) -> Role:
        target = Role(role)
        if target not in roles_for_kind(scope.tenant_kind):
            allowed = ", ".join(sorted(r.value for r in roles_for_kind(scope.tenant_kind)))
            raise InvalidInput.field("role", f"a {scope.tenant_kind.value} holds only: {allowed}")
        if not outranks(scope.principal.role, target):
            raise PermissionDenied(f"You cannot grant the role {target.value}")
        return target

    async def _extension(self, scope: TenantScope, extension_id: str | None, role: Role) -> str | None:
        if role is Role.USER and not extension_id:
            raise InvalidInput.field("extension_id", "required for role user", "missing")
        if extension_id is None:
            return None
        ext = await ExtensionRepository(self.session).find(scope, Extension.id == extension_id)
        if ext is None:
            raise InvalidReference.field(
                "extension_id", f"no extension {extension_id!r} in this tenant", "invalid_reference"
            )
        return ext.id

    async def create(self, scope: TenantScope, data: UserCreate) -> User:
        role = self._check_role(scope, data.role)
        extension_id = await self._extension(scope, data.extension_id, role)
        repo = UserRepository(self.session)
        if await repo.by_username(data.username) is not None:
            raise Duplicate(f"username {data.username!r} is taken", field="username")
        generated = None if data.password else generate_password(16)
        password = data.password or generated
        assert password is not None
        user = User(
            tenant_id=scope.tenant_id,
            username=data.username,
            name=data.name,
            email=data.email,
            role=role.value,
            extension_id=extension_id,
            enabled=data.enabled,
            password_hash=hash_password(password),
            password_changed_at=utcnow(),
        )
        self.repo.add(user)
        await self.session.flush()
        self.once[user.id] = {"password": generated}
        return user

    async def update(self, scope: TenantScope, obj_id: str, data: UserUpdate, if_match: str | None) -> User:
        user = await self.get(scope, obj_id)
        check_etag(user, if_match)
        self._may_manage(scope, user)
        given = data.model_fields_set
        changes: dict[str, Any] = {}
        role = Role(user.role)
        if "role" in given and data.role is not None and data.role != user.role:
            if user.id == scope.principal.user_id:
                raise Conflict("You cannot change your own role")
            role = self._check_role(scope, data.role)
            changes["role"] = role.value
        if "extension_id" in given or "role" in given:
            ext_id = data.extension_id if "extension_id" in given else user.extension_id
            changes["extension_id"] = await self._extension(scope, ext_id, role)
        if "enabled" in given and data.enabled is False and user.id == scope.principal.user_id:
            raise Conflict("You cannot disable yourself")
        for name in ("name", "email", "enabled"):
            if name in given:
                value = getattr(data, name)
                if value is None and name != "email":
                    raise InvalidInput.field(name, "cannot be null")
                changes[name] = value
        apply_changes(user, changes)
        await self.session.flush()
        return user

    def _may_manage(self, scope: TenantScope, user: User) -> None:
        if not outranks(scope.principal.role, Role(user.role)):
            raise PermissionDenied("You cannot manage an account with a higher role")

    async def before_delete(self, scope: TenantScope, obj: User) -> None:
        if obj.id == scope.principal.user_id:
            raise Conflict("You cannot delete yourself")
        self._may_manage(scope, obj)
        # Personal phonebooks and their contacts go through the ORM, so that each removal is audited and emitted
        # (the database would cascade them silently).
        books = await self.session.scalars(
            select(Phonebook).where(Phonebook.tenant_id == scope.tenant_id, Phonebook.owner_user_id == obj.id)
        )
        for book in books.all():
            contacts = await self.session.scalars(select(Contact).where(Contact.phonebook_id == book.id))
            for contact in contacts.all():
                await self.session.delete(contact)
            await self.session.delete(book)
        await self.session.flush()

    async def set_password(self, scope: TenantScope, obj_id: str, password: str | None) -> str | None:
        user = await self.get(scope, obj_id)
        self._may_manage(scope, user)
        generated = None if password else generate_password(16)
        user.password_hash = hash_password(password or generated or "")
        user.password_changed_at = utcnow()
        self.uow.mark(user, "set_password")
        await self.session.flush()
        return generated
