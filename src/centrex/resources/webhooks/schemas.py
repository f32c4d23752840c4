"""Webhook schemas: subscriptions (the secret is shown only at creation and rotation), deliveries and attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from centrex.resources.fields import StrictModel
from centrex.webhooks.matching import valid_pattern

Url = Annotated[
    str,
    StringConstraints(min_length=8, max_length=2000, strip_whitespace=True, pattern=r"^(?i:https?)://\S+$"),
    Field(
        description="Where events are POSTed: https (or http) to a public address; private, loopback and "
        "link-local targets are refused unless the operator allows them.",
        examples=["https://hooks.example.com/centrex"],
    ),
]
Description = Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)]
EventTypes = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=50,
        description="Event types or groups: `extension.created`, `call.*`, or `*` for everything.",
        examples=[["call.*", "extension.*"]],
    ),
]
DeliveryStatus = Literal["pending", "succeeded", "failed"]


def _patterns(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    for value in values:
        if not valid_pattern(value):
            raise ValueError(f"{value!r} is not an event type or group (`call.answered`, `call.*`, `*`)")
    if len(values) != len(set(values)):
        raise ValueError("must not repeat a value")
    return values


class WebhookCreate(StrictModel):
    url: Url
    description: Description = ""
    event_types: EventTypes = Field(default_factory=lambda: ["*"])
    enabled: bool = True
    ordered: bool = Field(
        default=False, description="Deliver one event at a time, in event order (a failing event holds the rest)."
    )
    include_children: bool = Field(
        default=False, description="Reseller and platform tenants: also receive the events of every tenant below."
    )

    _check_patterns = field_validator("event_types")(_patterns)


class WebhookUpdate(StrictModel):
    url: Url | None = None
    description: Description | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = None
    ordered: bool | None = None
    include_children: bool | None = None

    _check_patterns = field_validator("event_types")(_patterns)


class WebhookFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: bool | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Search in URL and description."
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    ordered: bool
    include_children: bool
    system: bool = Field(description="A system webhook (tenant lifecycle events of every tenant).")
    disabled_reason: str | None = Field(description="Why the endpoint was disabled automatically, if it was.")
    disabled_at: datetime | None
    consecutive_failures: int = Field(description="Deliveries in a row that failed for good.")
    failing_since: datetime | None = Field(description="First failed attempt since the last success.")
    last_success_at: datetime | None
    last_failure_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation: until when requests are also signed with the previous secret."
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret (`whsec_…`): shown only now; store it.")


class SecretOut(BaseModel):
    id: str
    secret: str = Field(description="The new signing secret: shown only now.")
    previous_secret_expires_at: datetime = Field(
        description="Until then requests carry a signature with the previous secret as well."
    )


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    attempt: int
    started_at: datetime
    url: str
    request_headers: dict[str, Any]
    request_body: str = Field(description="The body sent (first 2 KB).")
    response_status: int | None
    response_body: str | None = Field(description="The answer's body (first 2 KB).")
    latency_ms: int | None
    success: bool
    error: str | None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    webhook_id: str
    event_id: str = Field(description="The `webhook-id` header: the same for every attempt and replay.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    replay_of: str | None
    created_at: datetime
    completed_at: datetime | None


class DeliveryDetail(DeliveryOut):
    body: str = Field(description="The JSON body delivered.")
    attempt_log: list[AttemptOut] = Field(description="Every attempt, oldest first.")


class DeliveryFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: DeliveryStatus | None = None
    event_type: Annotated[str, StringConstraints(max_length=80)] | None = Field(
        default=None, description="An event type, or a group such as `call.*`."
    )
