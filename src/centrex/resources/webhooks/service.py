"""Webhook rules: URLs pass the SSRF guard; patterns are event types or groups; ``include_children`` only on
reseller and platform tenants; system webhooks take only tenant lifecycle events; secrets are generated, stored
encrypted, shown once (creation, rotation) and overlap for 24 h after a rotation. Also the delivery log (list,
detail with attempts, replay) and the test delivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_, select

from centrex.api.pagination import PageParams, PageResult, paginate
from centrex.db.models.webhooks import Webhook, WebhookAttempt, WebhookDelivery
from centrex.db.types import utcnow
from centrex.domain.errors import ErrorCollector, InvalidInput, NotFound
from centrex.domain.ids import new_id
from centrex.domain.tenancy import TenantKind, TenantScope
from centrex.events.bus import Event as BusEvent
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.service import ResourceService
from centrex.resources.webhooks.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryFilters,
    DeliveryOut,
    SecretOut,
    WebhookCreate,
    WebhookCreated,
    WebhookFilters,
    WebhookOut,
    WebhookUpdate,
)
from centrex.security.secrets import default_box
from centrex.webhooks import matching, signing
from centrex.webhooks.dispatcher import attempt_row, webhook_secrets
from centrex.webhooks.sender import new_client, send
from centrex.webhooks.ssrf import UnsafeTarget, check_url

ROTATION_OVERLAP = timedelta(hours=24)
PARENT_KINDS = frozenset({TenantKind.PLATFORM, TenantKind.RESELLER})
MAX_PER_TENANT = 100
TEST_TIMEOUT_SECONDS = 10.0


class WebhookRepository(TenantRepository[Webhook]):
    model = Webhook
    sortable = {"url": Webhook.url}
    default_sort = "created_at"


class WebhookService(ResourceService[Webhook]):
    """Tenant webhooks (``system = False``); ``SystemWebhookService`` is the platform's system webhooks."""

    repository = WebhookRepository
    out_model = WebhookOut
    created_model = WebhookCreated
    system: ClassVar[bool] = False

    def visible(self, scope: TenantScope) -> list[ColumnElement[bool]]:
        return [Webhook.system.is_(self.system)]

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, WebhookFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.enabled is not None:
            conds.append(Webhook.enabled.is_(filters.enabled))
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(func.lower(Webhook.url).like(like), func.lower(Webhook.description).like(like)))
        return conds

    # ------------------------------------------------------------------------------------------------ rules
    async def _check(self, scope: TenantScope, state: dict[str, Any], url_changed: bool) -> None:
        errors = ErrorCollector()
        if state["include_children"] and (self.system or scope.tenant_kind not in PARENT_KINDS):
            errors.add(
                "include_children",
                "only reseller and platform tenants' webhooks can include the tenants below"
                if not self.system
                else "system webhooks receive every tenant's lifecycle events already",
            )
        if self.system:
            for i, pattern in enumerate(state["event_types"]):
                if pattern not in ("*", "tenant.*") and not pattern.startswith(matching.SYSTEM_GROUP):
                    errors.add(f"event_types.{i}", "system webhooks receive tenant lifecycle events (`tenant.*`)")
        if url_changed:
            try:
                await check_url(state["url"], self.state.settings.webhook_allow_private)
            except UnsafeTarget as exc:
                errors.add("url", str(exc), "unsafe_url")
        errors.raise_if_any()

    async def create(self, scope: TenantScope, data: WebhookCreate) -> Webhook:
        state = data.model_dump()
        await self._check(scope, state, True)
        count = await self.repo.count(scope, Webhook.system.is_(self.system))
        if count >= MAX_PER_TENANT:
            raise InvalidInput.field("url", f"at most {MAX_PER_TENANT} webhooks per tenant", "limit")
        secret = signing.generate_secret()
        webhook = Webhook(
            tenant_id=scope.tenant_id,
            **state,
            system=self.system,
            secret_enc=default_box().encrypt(secret),
            consecutive_failures=0,
        )
        self.repo.add(webhook)
        await self.session.flush()
        self.once[webhook.id] = {"secret": secret}
        return webhook

    async def update(self, scope: TenantScope, obj_id: str, data: WebhookUpdate, if_match: str | None) -> Webhook:
        webhook = await self.get(scope, obj_id)
        check_etag(webhook, if_match)
        given = data.model_fields_set
        errors = ErrorCollector()
        for name in sorted(given):
            if getattr(data, name) is None:
                errors.add(name, "cannot be null")
        errors.raise_if_any()
        changes: dict[str, Any] = data.model_dump(include=given)
        state = {name: changes.get(name, getattr(webhook, name)) for name in WebhookCreate.model_fields}
        await self._check(scope, state, "url" in changes and changes["url"] != webhook.url)
        if changes.get("enabled") is True and not webhook.enabled:
            changes.update(disabled_reason=None, disabled_at=None, consecutive_failures=0, failing_since=None)
        apply_changes(webhook, changes)
        await self.session.flush()
        return webhook

    # ------------------------------------------------------------------------------------------------ actions
    async def rotate_secret(self, scope: TenantScope, obj_id: str) -> SecretOut:
        webhook = await self.get(scope, obj_id)
        secret = signing.generate_secret()
        expires = utcnow() + ROTATION_OVERLAP
        webhook.previous_secret_enc = webhook.secret_enc
        webhook.previous_secret_expires_at = expires
        webhook.secret_enc = default_box().encrypt(secret)
        self.uow.mark(webhook, "rotate_secret")
        await self.session.flush()
        return SecretOut(id=webhook.id, secret=secret, previous_secret_expires_at=expires)

    async def enable(self, scope: TenantScope, obj_id: str) -> Webhook:
        webhook = await self.get(scope, obj_id)
        if not webhook.enabled:
            apply_changes(
                webhook,
                {
                    "enabled": True,
                    "disabled_reason": None,
                    "disabled_at": None,
                    "consecutive_failures": 0,
                    "failing_since": None,
                },
            )
            self.uow.mark(webhook, "enable")
            await self.session.flush()
        return webhook

    async def test(self, scope: TenantScope, obj_id: str) -> DeliveryDetail:
        """Send a ``webhook.test`` event now and log it (not retried, not counted against the endpoint)."""
        webhook = await self.get(scope, obj_id)
        now = utcnow()
        event_id = new_id("evt")
        body = matching.body(
            BusEvent(
                id=event_id,
                seq=0,
                type="webhook.test",
                tenant_id=scope.tenant_id,
                tenant_path=scope.tenant_path,
                resource_type="webhook",
                resource_id=webhook.id,
                occurred_at=now,
                data={"id": webhook.id, "url": webhook.url, "message": "A test delivery from Centrex."},
            ).envelope()
        )
        timeout = min(self.state.settings.webhook_timeout_seconds, TEST_TIMEOUT_SECONDS)
        async with new_client() as client:
            result = await send(
                client,
                webhook.url,
                event_id,
                body,
                webhook_secrets(webhook, now),
                allow_private=self.state.settings.webhook_allow_private,
                timeout_seconds=timeout,
            )
        delivery = WebhookDelivery(
            id=new_id("whd"),
            webhook_id=webhook.id,
            tenant_id=webhook.tenant_id,
            event_id=event_id,
            event_seq=None,
            event_type="webhook.test",
            body=body,
            status="succeeded" if result.success else "failed",
            attempts=1,
            last_status_code=result.status,
            last_error=result.error,
            completed_at=utcnow(),
        )
        self.session.add(delivery)
        await self.session.flush()  # the attempt's foreign key needs the delivery row first
        attempt = attempt_row(delivery.id, 1, result)
        self.session.add(attempt)
        await self.session.flush()
        return self._detail(delivery, [attempt])

    # ------------------------------------------------------------------------------------------------ delivery log
    def _deliveries(self, webhook: Webhook) -> Any:
        return select(WebhookDelivery).where(
            WebhookDelivery.tenant_id == webhook.tenant_id, WebhookDelivery.webhook_id == webhook.id
        )

    async def deliveries(
        self, scope: TenantScope, obj_id: str, filters: DeliveryFilters, page: PageParams
    ) -> PageResult[WebhookDelivery]:
        webhook = await self.get(scope, obj_id)
        stmt = self._deliveries(webhook)
        if filters.status:
            stmt = stmt.where(WebhookDelivery.status == filters.status)
        if filters.event_type:
            pattern = filters.event_type
            if pattern.endswith(".*"):
                stmt = stmt.where(WebhookDelivery.event_type.startswith(pattern[:-1], autoescape=True))
            elif pattern != "*":
                stmt = stmt.where(WebhookDelivery.event_type == pattern)
        sortable = {"created_at": WebhookDelivery.created_at, "id": WebhookDelivery.id}
        return await paginate(self.session, stmt, WebhookDelivery.id, page, sortable, "-created_at")

    async def _delivery(self, scope: TenantScope, obj_id: str, delivery_id: str) -> WebhookDelivery:
        webhook = await self.get(scope, obj_id)
        delivery: WebhookDelivery | None = await self.session.scalar(
            self._deliveries(webhook).where(WebhookDelivery.id == delivery_id)
        )
        if delivery is None:
            raise NotFound.of("webhook_delivery", delivery_id)
        return delivery

    def _detail(self, delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryDetail:
        out = DeliveryOut.model_validate(delivery).model_dump()
        return DeliveryDetail(**out, body=delivery.body, attempt_log=[AttemptOut.model_validate(a) for a in attempts])

    async def delivery(self, scope: TenantScope, obj_id: str, delivery_id: str) -> DeliveryDetail:
        delivery = await self._delivery(scope, obj_id, delivery_id)
        attempts = (
            await self.session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery.id)
                .order_by(WebhookAttempt.attempt, WebhookAttempt.started_at)
            )
        ).all()
        return self._detail(delivery, list(attempts))

    async def replay(self, scope: TenantScope, obj_id: str, delivery_id: str) -> WebhookDelivery:
        """A new delivery of the same event (same body, same ``webhook-id``), due now."""
        original = await self._delivery(scope, obj_id, delivery_id)
        copy = WebhookDelivery(
            id=new_id("whd"),
            webhook_id=original.webhook_id,
            tenant_id=original.tenant_id,
            event_id=original.event_id,
            event_seq=original.event_seq,
            event_type=original.event_type,
            body=original.body,
            status="pending",
            attempts=0,
            next_attempt_at=utcnow(),
            replay_of=original.id,
        )
        self.session.add(copy)
        await self.session.flush()
        return copy


class SystemWebhookService(WebhookService):
    """The platform's system webhooks: tenant lifecycle events (``tenant.*``) of every tenant."""

    system = True
