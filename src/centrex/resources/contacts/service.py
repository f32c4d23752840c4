"""Contact rules: contacts live in a phonebook of the tenant; numbers keep what was entered plus E.164 when it
parses, and every number's digits are indexed for find-by-number (exact or ends-with, 3CX ``contact.find``); speed
dials are unique per tenant; each contact has a small per-tenant integer ``legacy_id`` for integer-id clients (kept
from the source system on create or import, else the tenant's highest + 1).

End users (role ``user``) see company phonebooks and their own personal ones, and change only contacts of their own
personal phonebooks. CSV import validates every line first and saves nothing when a line is invalid (unless told to
skip invalid lines); a preview saves nothing at all.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, Select, String, case, cast, func, or_, select

from centrex.db.models.contacts import Contact, Phonebook
from centrex.domain.e164 import InvalidNumber, national, normalize
from centrex.domain.errors import (
    Duplicate,
    FieldError,
    InvalidInput,
    InvalidReference,
    NotFound,
    PermissionDenied,
)
from centrex.domain.tenancy import Role, TenantScope
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.contacts import csvio
from centrex.resources.contacts.schemas import (
    ContactCreate,
    ContactFilters,
    ContactNumber,
    ContactOut,
    ContactUpdate,
    ImportLineError,
    ImportResult,
)
from centrex.resources.service import ResourceService

MAX_IMPORT_ROWS = 10_000
MAX_REPORTED_ERRORS = 1000
MAX_FIND = 100
MAX_EXPORT = 100_000
UNNAMED = "a contact needs a first name, a last name or a company"


class ContactRepository(TenantRepository[Contact]):
    model = Contact
    sortable = {
        "name": Contact.search_name,
        "first_name": Contact.first_name,
        "last_name": Contact.last_name,
        "company": Contact.company,
        "legacy_id": Contact.legacy_id,
    }
    default_sort = "name"


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE wildcards in ``text`` escaped (use with ``escape="\\\\"``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def number_entry(item: ContactNumber) -> tuple[dict[str, Any], list[str]]:
    """The stored number (``{type, number, e164}``) and the digit strings it can be found by."""
    e164: str | None
    try:
        e164 = normalize(item.number)
    except InvalidNumber:
        e164 = None
    variants = [re.sub(r"\D", "", item.number)]
    if e164 is not None:
        variants += [e164[1:], national(e164)]
    return {"type": item.type, "number": item.number, "e164": e164}, [v for v in variants if v]


def search_columns(first: str, last: str, company: str, numbers: list[ContactNumber]) -> dict[str, Any]:
    """``numbers`` as stored, with the search columns (``search_name``, ``search_digits``)."""
    stored, digits = [], []
    for item in numbers:
        entry, variants = number_entry(item)
        stored.append(entry)
        digits += [v for v in variants if v not in digits]
    return {
        "numbers": stored,
        "search_name": " ".join(p for p in (first, last, company) if p).lower()[:400],
        "search_digits": (" " + " ".join(digits) + " ") if digits else "",
    }


class ContactService(ResourceService[Contact]):
    repository = ContactRepository
    out_model = ContactOut

    # ------------------------------------------------------------------------------------------- visibility
    @staticmethod
    def end_user(scope: TenantScope) -> str | None:
        """For end users: their user id ("-" when the credential has none); None for administrators."""
        if scope.principal.role is Role.USER:
            return scope.principal.user_id or "-"
        return None

    @staticmethod
    def visible_books(scope: TenantScope, user_id: str) -> Select[Any]:
        return select(Phonebook.id).where(
            Phonebook.tenant_id == scope.tenant_id,
            or_(Phonebook.scope == "company", Phonebook.owner_user_id == user_id),
        )

    def visible(self, scope: TenantScope) -> list[ColumnElement[bool]]:
        user_id = self.end_user(scope)
        return [Contact.phonebook_id.in_(self.visible_books(scope, user_id))] if user_id is not None else []

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, ContactFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.phonebook_id:
            conds.append(Contact.phonebook_id == filters.phonebook_id)
        if filters.q:
            conds.append(Contact.search_name.like(like_pattern(filters.q.lower()), escape="\\"))
        if filters.tag:
            # JSON text of the list: ["a", "b"] (PostgreSQL JSONB, non-ASCII as is) or ["a","b"] (SQLite, as
            # json.dumps wrote it: non-ASCII as \uXXXX); a tag is a quoted element, escaped the same way.
            ascii_only = self.session.get_bind().dialect.name != "postgresql"
            element = json.dumps(filters.tag.lower(), ensure_ascii=ascii_only)
            tags_text = func.lower(cast(Contact.tags, String))
            conds.append(tags_text.like(like_pattern(element), escape="\\"))
        if filters.speed_dial:
            conds.append(Contact.speed_dial == filters.speed_dial)
        if filters.legacy_id is not None:
            conds.append(Contact.legacy_id == filters.legacy_id)
        return conds

    async def phonebook(self, scope: TenantScope, phonebook_id: str, *, write: bool, field: str | None) -> Phonebook:
        """The phonebook ``phonebook_id`` as this principal may use it: 403 if read-only to it; if it is not there
        (or not visible), 422 naming the input ``field``, or 404 when it was named in the path (``field`` None)."""
        book = (
            await self.session.execute(
                select(Phonebook).where(Phonebook.tenant_id == scope.tenant_id, Phonebook.id == phonebook_id)
            )
        ).scalar_one_or_none()
        user_id = self.end_user(scope)
        if book is None or (user_id is not None and book.scope == "personal" and book.owner_user_id != user_id):
            if field is None:
                raise NotFound.of("phonebook", phonebook_id)
            raise InvalidReference.field(field, f"no phonebook {phonebook_id!r} in this tenant", "invalid_reference")
        if write and user_id is not None and book.scope != "personal":
            raise PermissionDenied("Only administrators change company phonebooks; use a personal phonebook")
        return book

    # ------------------------------------------------------------------------------------------------ rules
    async def _check_speed_dial(self, scope: TenantScope, speed_dial: str, current: Contact | None) -> None:
        existing = await self.repo.find(scope, Contact.speed_dial == speed_dial)
        if existing is not None and existing is not current:
            # Name the holder only to a caller who may see it (not another user's personal contact).
            seen = await self.repo.find(scope, Contact.id == existing.id, *self.visible(scope))
            holder = f"contact {existing.label()!r}" if seen is not None else "another contact"
            raise Duplicate(f"speed dial {speed_dial} is already used by {holder}", field="speed_dial")

    async def _check_legacy_id(self, scope: TenantScope, legacy_id: int, current: Contact | None) -> None:
        existing = await self.repo.find(scope, Contact.legacy_id == legacy_id)
        if existing is not None and existing is not current:
            raise Duplicate(f"legacy_id {legacy_id} is already used by another contact", field="legacy_id")

    async def _next_legacy_id(self, scope: TenantScope) -> int:
        await self.tenant(scope, lock=True)  # PostgreSQL: concurrent creates in one tenant queue here
        top = await self.session.scalar(select(func.max(Contact.legacy_id)).where(Contact.tenant_id == scope.tenant_id))
        return int(top or 0) + 1

    def _build(self, scope: TenantScope, data: ContactCreate, legacy_id: int | None) -> Contact:
        return Contact(
            tenant_id=scope.tenant_id,
            phonebook_id=data.phonebook_id,
            first_name=data.first_name,
            last_name=data.last_name,
            company=data.company,
            title=data.title,
            emails=[e.model_dump() for e in data.emails],
            speed_dial=data.speed_dial,
            tags=list(data.tags),
            notes=data.notes,
            legacy_id=data.legacy_id if data.legacy_id is not None else legacy_id,
            **search_columns(data.first_name, data.last_name, data.company, data.numbers),
        )

    async def create(self, scope: TenantScope, data: ContactCreate) -> Contact:
        if not data.named:
            raise InvalidInput.field("first_name", UNNAMED)
        await self.phonebook(scope, data.phonebook_id, write=True, field="phonebook_id")
        if data.speed_dial:
            await self._check_speed_dial(scope, data.speed_dial, None)
        next_id = await self._next_legacy_id(scope)  # also queues concurrent creates of the tenant
        if data.legacy_id is not None:
            await self._check_legacy_id(scope, data.legacy_id, None)
        contact = self._build(scope, data, next_id)
        self.repo.add(contact)
        await self.session.flush()
        return contact

    async def update(self, scope: TenantScope, obj_id: str, data: ContactUpdate, if_match: str | None) -> Contact:
        contact = await self.get(scope, obj_id)
        check_etag(contact, if_match)
        await self.phonebook(scope, contact.phonebook_id, write=True, field="phonebook_id")
        given = data.model_fields_set
        changes: dict[str, Any] = {}
        if "phonebook_id" in given and data.phonebook_id != contact.phonebook_id:
            assert data.phonebook_id is not None
            await self.phonebook(scope, data.phonebook_id, write=True, field="phonebook_id")
            changes["phonebook_id"] = data.phonebook_id
        if "speed_dial" in given and data.speed_dial and data.speed_dial != contact.speed_dial:
            await self._check_speed_dial(scope, data.speed_dial, contact)
        if "legacy_id" in given and data.legacy_id != contact.legacy_id:
            if data.legacy_id is None:
                raise InvalidInput.field("legacy_id", "cannot be null")
            await self.tenant(scope, lock=True)
            await self._check_legacy_id(scope, data.legacy_id, contact)
            changes["legacy_id"] = data.legacy_id
        for name in ("first_name", "last_name", "company", "title", "notes", "speed_dial"):
            if name in given:
                changes[name] = getattr(data, name)
        if "emails" in given:
            changes["emails"] = [e.model_dump() for e in data.emails or []]
        if "tags" in given:
            changes["tags"] = list(data.tags or [])
        first = changes.get("first_name", contact.first_name)
        last = changes.get("last_name", contact.last_name)
        company = changes.get("company", contact.company)
        if not (first or last or company):
            raise InvalidInput.field("first_name", UNNAMED)
        numbers = (
            data.numbers
            if "numbers" in given and data.numbers is not None
            else [ContactNumber(type=n["type"], number=n["number"]) for n in contact.numbers or []]
        )
        changes.update(search_columns(first, last, company, numbers))
        apply_changes(contact, changes)
        await self.session.flush()
        return contact

    async def before_delete(self, scope: TenantScope, obj: Contact) -> None:
        await self.phonebook(scope, obj.phonebook_id, write=True, field="phonebook_id")

    # ---------------------------------------------------------------------------------------------- search
    async def find(
        self, scope: TenantScope, number: str, min_length: int, phonebook_id: str | None = None
    ) -> tuple[str, list[Contact]]:
        """Contacts with a number equal to, or ending with, the digits of ``number`` (exact matches first).

        Fewer digits than ``min_length`` match nothing (a short number would match half the phonebook).
        """
        digits = re.sub(r"\D", "", number)
        if len(digits) < min_length or not digits:
            return digits, []
        # The digits as given, and the E.164 digits when the text parses (``0044…``, ``011 44…`` → ``44…``).
        wanted = [digits]
        try:
            e164 = normalize(number)
        except InvalidNumber:
            e164 = None
        if e164 is not None and e164[1:] not in wanted:
            wanted.append(e164[1:])
        exact = or_(*(Contact.search_digits.like(f"% {d} %") for d in wanted))
        ends = or_(*(Contact.search_digits.like(f"%{d} %") for d in wanted))
        stmt = self.repo.scoped(scope).where(ends, *self.visible(scope))
        if phonebook_id:
            stmt = stmt.where(Contact.phonebook_id == phonebook_id)
        stmt = stmt.order_by(case((exact, 0), else_=1), Contact.legacy_id, Contact.id).limit(MAX_FIND)
        return digits, list((await self.session.execute(stmt)).scalars())

    async def export_rows(self, scope: TenantScope, filters: ContactFilters) -> list[Contact]:
        stmt = (
            self.repo.scoped(scope)
            .where(*self.visible(scope), *self.where(scope, filters))
            .order_by(Contact.search_name, Contact.id)
            .limit(MAX_EXPORT)
        )
        return list((await self.session.execute(stmt)).scalars())

    # ---------------------------------------------------------------------------------------------- import
    async def import_csv(
        self, scope: TenantScope, phonebook_id: str, data: bytes, *, preview: bool, skip_invalid: bool
    ) -> ImportResult:
        book = await self.phonebook(scope, phonebook_id, write=True, field=None)
        try:
            parsed = csvio.parse(data, max_rows=MAX_IMPORT_ROWS)
        except csvio.CsvError as exc:
            raise InvalidInput.field("file", str(exc), "invalid_csv") from None
        if not preview:
            await self.tenant(scope, lock=True)  # PostgreSQL: concurrent imports/creates of the tenant queue here
        legacy_taken: set[int] = {
            int(v)
            for v in (
                await self.session.execute(
                    select(Contact.legacy_id).where(
                        Contact.tenant_id == scope.tenant_id, Contact.legacy_id.is_not(None)
                    )
                )
            ).scalars()
            if v is not None
        }
        taken = set(
            (
                await self.session.execute(
                    select(Contact.speed_dial).where(
                        Contact.tenant_id == scope.tenant_id, Contact.speed_dial.is_not(None)
                    )
                )
            ).scalars()
        )
        errors = [ImportLineError(line=line, field=f, message=m) for line, f, m in parsed.errors]
        valid: list[tuple[int, ContactCreate]] = []
        for row in parsed.rows:
            try:
                item = ContactCreate.model_validate({**row.data, "phonebook_id": book.id})
            except ValidationError as exc:
                for err in exc.errors():
                    column = csvio.column_of(row, tuple(err.get("loc", ())))
                    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
                    errors.append(ImportLineError(line=row.line, field=column, message=message))
                continue
            if not item.named:
                errors.append(ImportLineError(line=row.line, field="first_name", message=UNNAMED))
                continue
            if item.speed_dial and item.speed_dial in taken:
                errors.append(
                    ImportLineError(line=row.line, field="speed_dial", message="already used by another contact")
                )
                continue
            if item.legacy_id is not None:
                if item.legacy_id in legacy_taken:
                    errors.append(
                        ImportLineError(line=row.line, field="legacy_id", message="already used by another contact")
                    )
                    continue
                legacy_taken.add(item.legacy_id)
            if item.speed_dial:
                taken.add(item.speed_dial)
            valid.append((row.line, item))
        errors.sort(key=lambda e: e.line)
        bad_lines = len({e.line for e in errors})
        if errors and not skip_invalid and not preview:
            shown = errors[:MAX_REPORTED_ERRORS]
            raise InvalidInput(
                f"{bad_lines} invalid line(s); nothing was imported (fix them, or import with skip_invalid=true)",
                [FieldError(f"lines.{e.line}.{e.field}", e.message) for e in shown],
            )
        result = ImportResult(
            preview=preview,
            phonebook_id=book.id,
            created=len(valid),
            skipped=bad_lines if skip_invalid else 0,
            errors=errors[:MAX_REPORTED_ERRORS],
            ignored_columns=parsed.ignored_columns,
        )
        if preview:
            result.contacts = [
                {"line": line, **item.model_dump(), **search_columns("", "", "", item.numbers)} for line, item in valid
            ]
            for entry in result.contacts:
                entry.pop("search_name", None)
                entry.pop("search_digits", None)
            return result
        if valid:
            next_id = max(legacy_taken, default=0) + 1  # after every id kept from the file as well
            for _line, item in valid:
                assigned = None
                if item.legacy_id is None:
                    assigned, next_id = next_id, next_id + 1
                self.repo.add(self._build(scope, item, assigned))
            await self.session.flush()
        return result
