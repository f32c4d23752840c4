"""Contact API schemas: typed numbers (3CX's ten slots) and e-mails, speed dial, tags; find and import answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from centrex.resources.fields import Email, StrictModel

NumberType = Literal[
    "mobile", "mobile2", "home", "home2", "business", "business2", "business_fax", "home_fax", "pager", "other"
]
NUMBER_TYPES: tuple[str, ...] = NumberType.__args__  # type: ignore[attr-defined]
EmailType = Literal["work", "home", "other"]
EMAIL_TYPES: tuple[str, ...] = EmailType.__args__  # type: ignore[attr-defined]

PhoneText = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=32, strip_whitespace=True, pattern=r"^\+?[0-9 ()./*#-]*[0-9][0-9 ()./*#-]*$"
    ),
    Field(
        description="As entered (digits, spaces, `+ ( ) - . / * #`); E.164 is added when it parses.",
        examples=["+1 (415) 555-0100"],
    ),
]
Short = Annotated[str, StringConstraints(max_length=100, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]*$")]
CompanyText = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]*$")]
Notes = Annotated[str, StringConstraints(max_length=2000)]
SpeedDial = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,8}$"),
    Field(description="1–8 digits, unique among the tenant's contacts.", examples=["12"]),
]
Tag = Annotated[
    str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True, pattern=r"^[^\x00-\x1f;,]+$")
]
PhonebookId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
LegacyId = Annotated[
    int,
    Field(
        ge=1,
        le=999_999_999,  # room for the ids assigned after it (a 32-bit column)
        strict=True,
        description="Small per-tenant integer id (3CX `id`, MiRTA `peid`): kept when importing from another system, "
        "assigned (highest + 1) when left out; unique in the tenant.",
        examples=[42],
    ),
]


class ContactNumber(StrictModel):
    type: NumberType = "other"
    number: PhoneText


class ContactEmail(StrictModel):
    type: EmailType = "work"
    email: Email


def _unique_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    seen: list[str] = []
    for tag in tags:
        if tag not in seen:
            seen.append(tag)
    return seen


class ContactCreate(StrictModel):
    phonebook_id: PhonebookId
    first_name: Short = ""
    last_name: Short = ""
    company: CompanyText = ""
    title: Short = ""
    numbers: list[ContactNumber] = Field(default_factory=list, max_length=20)
    emails: list[ContactEmail] = Field(default_factory=list, max_length=10)
    speed_dial: SpeedDial | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    notes: Notes = ""
    legacy_id: LegacyId | None = None

    _tags = field_validator("tags")(_unique_tags)

    @property
    def named(self) -> bool:
        """A contact needs a first name, a last name or a company (checked by the service, naming ``first_name``)."""
        return bool(self.first_name or self.last_name or self.company)


class ContactUpdate(StrictModel):
    phonebook_id: PhonebookId | None = Field(default=None, description="Move the contact to another phonebook.")
    first_name: Short | None = None
    last_name: Short | None = None
    company: CompanyText | None = None
    title: Short | None = None
    numbers: list[ContactNumber] | None = Field(default=None, max_length=20)
    emails: list[ContactEmail] | None = Field(default=None, max_length=10)
    speed_dial: SpeedDial | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    notes: Notes | None = None
    legacy_id: LegacyId | None = None

    _tags = field_validator("tags")(_unique_tags)

    @model_validator(mode="after")
    def _no_nulls(self) -> ContactUpdate:
        for name in self.model_fields_set - {"speed_dial"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ContactFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    phonebook_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Search in first name, last name and company."
    )
    tag: Annotated[str, StringConstraints(max_length=50)] | None = None
    speed_dial: Annotated[str, StringConstraints(max_length=8)] | None = None
    legacy_id: int | None = Field(default=None, ge=1, description="The small integer id (3CX-style clients).")


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    phonebook_id: str
    legacy_id: int | None = Field(description="Small per-tenant integer id for integer-id clients (3CX).")
    first_name: str
    last_name: str
    company: str
    title: str
    numbers: list[dict[str, Any]] = Field(description="`[{type, number, e164}]`; `e164` is null when not parseable.")
    emails: list[dict[str, Any]]
    speed_dial: str | None
    tags: list[str]
    notes: str
    created_at: datetime
    updated_at: datetime


class ContactMatches(BaseModel):
    number: str = Field(description="The digits searched for.")
    items: list[ContactOut] = Field(description="Exact matches first, then numbers ending with the digits.")


class ImportLineError(BaseModel):
    line: int = Field(description="Line of the CSV file (the header is line 1).")
    field: str
    message: str


class ImportResult(BaseModel):
    preview: bool = Field(description="True: nothing was saved.")
    phonebook_id: str
    created: int = Field(description="Contacts created (or, in a preview, that would be created).")
    skipped: int = Field(description="Invalid lines left out (with `skip_invalid=true`).")
    errors: list[ImportLineError]
    ignored_columns: list[str] = Field(description="Header columns that map to no contact field.")
    contacts: list[dict[str, Any]] | None = Field(
        default=None, description="In a preview: the contacts that would be created."
    )
