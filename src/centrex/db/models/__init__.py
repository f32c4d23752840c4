"""All mapped models; importing this package registers every table on ``Base.metadata``."""

from centrex.db.models.api_key import ApiKey
from centrex.db.models.audit import AuditEntry
from centrex.db.models.cdr import Cdr
from centrex.db.models.conference import Conference
from centrex.db.models.contacts import Contact, Phonebook
from centrex.db.models.device import Device
from centrex.db.models.extension import Extension
from centrex.db.models.groups import ExtensionGroup, PickupGroup, RingGroup
from centrex.db.models.idempotency import IdempotencyRecord
from centrex.db.models.ivr import Ivr
from centrex.db.models.login_session import LoginSession
from centrex.db.models.media import MediaFile, MohClass
from centrex.db.models.number import PhoneNumber
from centrex.db.models.outbox import OutboxEvent
from centrex.db.models.queues import Queue, QueueAgent
from centrex.db.models.refs import ObjectRef
from centrex.db.models.routing import CallerIdBlock, InboundRoute, OutboundRoute, Trunk
from centrex.db.models.sip import SipBan, SipRegistration
from centrex.db.models.tenant import Tenant
from centrex.db.models.time_condition import TimeCondition
from centrex.db.models.user import User
from centrex.db.models.voicemail import VoicemailBox, VoicemailMessage
from centrex.db.models.webhooks import Webhook, WebhookAttempt, WebhookCursor, WebhookDelivery

__all__ = [
    "ApiKey",
    "AuditEntry",
    "CallerIdBlock",
    "Cdr",
    "Conference",
    "Contact",
    "Device",
    "Extension",
    "ExtensionGroup",
    "IdempotencyRecord",
    "InboundRoute",
    "Ivr",
    "LoginSession",
    "MediaFile",
    "MohClass",
    "ObjectRef",
    "OutboundRoute",
    "OutboxEvent",
    "PhoneNumber",
    "Phonebook",
    "PickupGroup",
    "Queue",
    "QueueAgent",
    "RingGroup",
    "SipBan",
    "SipRegistration",
    "Tenant",
    "TimeCondition",
    "Trunk",
    "User",
    "VoicemailBox",
    "VoicemailMessage",
    "Webhook",
    "WebhookAttempt",
    "WebhookCursor",
    "WebhookDelivery",
]
