"""User API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from centrex.resources.fields import Email, StrictModel

Username = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$", to_lower=True),
    Field(description="Login name, unique on the platform (stored lower-case).", examples=["alice@acme"]),
]
RoleName = Literal["platform_admin", "reseller_admin", "tenant_admin", "user"]


def check_password_policy(value: str | None) -> str | None:
    if value is None:
        return None
    if not (10 <= len(value) <= 128):
        raise ValueError("must be 10–128 characters")
    if not any(c.isalpha() for c in value) or not any(c.isdigit() for c in value):
        raise ValueError("needs at least one letter and one digit")
    return value


Password = Annotated[
    str, StringConstraints(max_length=128), Field(description="10–128 characters with a letter and a digit.")
]


class UserCreate(StrictModel):
    username: Username
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    email: Email | None = None
    role: RoleName
    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Required for role `user`: the extension the user may see and manage."
    )
    enabled: bool = True
    password: Password | None = Field(default=None, description="Omit to have one generated (returned once).")

    _pw = field_validator("password")(check_password_policy)


class UserUpdate(StrictModel):
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    email: Email | None = None
    role: RoleName | None = None
    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    enabled: bool | None = None


class PasswordSet(StrictModel):
    password: Password | None = Field(default=None, description="Omit to have one generated (returned once).")

    _pw = field_validator("password")(check_password_policy)


class UserFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    role: RoleName | None = None
    enabled: bool | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    username: str
    name: str
    email: str | None
    role: str
    extension_id: str | None
    enabled: bool
    last_login_at: datetime | None
    password_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UserCreated(UserOut):
    password: str | None = Field(description="The generated password, shown once; null when you chose one.")


class PasswordResult(BaseModel):
    password: str | None = Field(description="The generated password, shown once; null when you chose one.")
