"""Phonebook rules: unique names; a personal phonebook has an owner who is a user of the tenant, a company one has
none; end users see company phonebooks and their own, and manage only their own personal ones. Deleting a phonebook
deletes its contacts (each audited)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_, select

from centrex.db.models.contacts import Contact, Phonebook
from centrex.db.models.user import User
from centrex.domain.errors import Duplicate, InvalidInput, InvalidReference, PermissionDenied
from centrex.domain.tenancy import Role, TenantScope
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.contacts.service import like_pattern
from centrex.resources.phonebooks.schemas import PhonebookCreate, PhonebookFilters, PhonebookOut, PhonebookUpdate
from centrex.resources.service import ResourceService


class PhonebookRepository(TenantRepository[Phonebook]):
    model = Phonebook
    sortable = {"name": Phonebook.name}
    default_sort = "name"


class PhonebookService(ResourceService[Phonebook]):
    repository = PhonebookRepository
    out_model = PhonebookOut

    @staticmethod
    def end_user(scope: TenantScope) -> str | None:
        """For end users: their user id ("-" when the credential has none); None for administrators."""
        if scope.principal.role is Role.USER:
            return scope.principal.user_id or "-"
        return None

    def visible(self, scope: TenantScope) -> list[ColumnElement[bool]]:
        user_id = self.end_user(scope)
        if user_id is None:
            return []
        return [or_(Phonebook.scope == "company", Phonebook.owner_user_id == user_id)]

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, PhonebookFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.scope:
            conds.append(Phonebook.scope == filters.scope)
        if filters.owner_user_id:
            conds.append(Phonebook.owner_user_id == filters.owner_user_id)
        if filters.source:
            conds.append(Phonebook.source == filters.source)
        if filters.q:
            conds.append(func.lower(Phonebook.name).like(like_pattern(filters.q.lower()), escape="\\"))
        return conds

    async def _check_name(self, scope: TenantScope, name: str, current: Phonebook | None) -> None:
        existing = await self.session.execute(
            select(Phonebook.id).where(Phonebook.tenant_id == scope.tenant_id, Phonebook.name == name)
        )
        found = existing.scalar_one_or_none()
        if found is not None and (current is None or found != current.id):
            raise Duplicate(f"a phonebook named {name!r} already exists in this tenant", field="name")

    async def _owner(self, scope: TenantScope, book_scope: str, owner_user_id: str | None) -> str | None:
        if book_scope == "company":
            if owner_user_id is not None:
                raise InvalidInput.field("owner_user_id", "a company phonebook has no owner")
            return None
        user_id = self.end_user(scope)
        if user_id is not None:
            if owner_user_id not in (None, user_id):
                raise PermissionDenied("End users may only own personal phonebooks themselves")
            return user_id
        if owner_user_id is None:
            raise InvalidInput.field("owner_user_id", "required for a personal phonebook")
        owner = await self.session.scalar(
            select(User.id).where(User.tenant_id == scope.tenant_id, User.id == owner_user_id)
        )
        if owner is None:
            raise InvalidReference.field(
                "owner_user_id", f"no user {owner_user_id!r} in this tenant", "invalid_reference"
            )
        return owner_user_id

    def _check_manage(self, scope: TenantScope, book: Phonebook) -> None:
        user_id = self.end_user(scope)
        if user_id is not None and (book.scope != "personal" or book.owner_user_id != user_id):
            raise PermissionDenied("Only administrators change company phonebooks; you may change your own ones")

    async def create(self, scope: TenantScope, data: PhonebookCreate) -> Phonebook:
        if self.end_user(scope) is not None and data.scope != "personal":
            raise PermissionDenied("End users may only create personal phonebooks")
        await self._check_name(scope, data.name, None)
        owner = await self._owner(scope, data.scope, data.owner_user_id)
        book = Phonebook(
            tenant_id=scope.tenant_id,
            name=data.name,
            scope=data.scope,
            owner_user_id=owner,
            source=data.source,
            description=data.description,
        )
        self.repo.add(book)
        await self.session.flush()
        return book

    async def update(self, scope: TenantScope, obj_id: str, data: PhonebookUpdate, if_match: str | None) -> Phonebook:
        book = await self.get(scope, obj_id)
        check_etag(book, if_match)
        self._check_manage(scope, book)
        given = data.model_fields_set
        changes: dict[str, Any] = data.model_dump(include=given - {"owner_user_id"})
        if "name" in changes and changes["name"] != book.name:
            await self._check_name(scope, changes["name"], book)
        new_scope = changes.get("scope", book.scope)
        if self.end_user(scope) is not None and new_scope != "personal":
            raise PermissionDenied("End users may only have personal phonebooks")
        if "owner_user_id" in given:
            owner = data.owner_user_id
        else:
            owner = book.owner_user_id if new_scope == "personal" else None
        changes["owner_user_id"] = await self._owner(scope, new_scope, owner)
        apply_changes(book, changes)
        await self.session.flush()
        return book

    async def before_delete(self, scope: TenantScope, obj: Phonebook) -> None:
        self._check_manage(scope, obj)
        contacts = await self.session.execute(
            select(Contact).where(Contact.tenant_id == scope.tenant_id, Contact.phonebook_id == obj.id)
        )
        for contact in contacts.scalars():
            await self.session.delete(contact)
        await self.session.flush()
