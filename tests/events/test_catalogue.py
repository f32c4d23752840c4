"""The event catalogue: complete, schema'd, documented, and matching what the code emits."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from centrex.cdr.events import call_data
from centrex.db.models.cdr import Cdr
from centrex.db.models.sip import SipRegistration
from centrex.engine.events import registration_data
from centrex.events import catalogue as cat
from centrex.events.bus import Event

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"
CALL_FIELDS = [
    "call_id",
    "leg",
    "direction",
    "caller",
    "callee",
    "did",
    "trunk_id",
    "extension_id",
    "state",
    "started_at",
    "answered_at",
    "ended_at",
    "duration",
    "billable_seconds",
    "disposition",
    "hangup_cause",
    "hangup_by",
]
REGISTRATION_FIELDS = ["extension_id", "contact", "source", "transport", "user_agent", "expires_at"]


def test_types_are_unique_well_formed_and_cover_the_issue() -> None:
    names = [e.type for e in cat.catalogue()]
    assert names == sorted(set(names))
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", n) for n in names), names
    required = {
        *(
            f"call.{a}"
            for a in ["created", "ringing", "answered", "held", "resumed", "transferred", "bridged", "missed", "ended"]
        ),
        *(f"registration.{a}" for a in ["created", "refreshed", "expired", "removed"]),
        "webhook.disabled",
        "recording.ready",
        "extension.created",
        "extension.updated",
        "extension.deleted",
        "tenant.created",
    }
    assert required <= set(names)
    assert any(n.startswith("voicemail.") for n in names)
    assert any(n.startswith("queue.") for n in names) and any(n.startswith("agent.") for n in names)
    assert cat.lookup("recording.ready").status == "reserved"  # type: ignore[union-attr]
    assert cat.lookup("call.ended").data is cat.CallEventData  # type: ignore[union-attr]
    assert cat.lookup("no.such") is None


def test_every_type_is_documented_in_docs_events_md() -> None:
    text = DOCS.read_text()
    missing = [e.type for e in cat.catalogue() if f"`{e.type}`" not in text]
    assert not missing, f"undocumented event types {missing}: run python -m centrex.events.catalogue --write {DOCS}"


def test_schemas_for_the_envelope_and_every_data_type() -> None:
    components = cat.openapi_components()
    assert {"EventEnvelope", *(e.schema_name for e in cat.catalogue())} <= set(components)
    envelope = components["EventEnvelope"]
    assert set(envelope["required"]) >= {"id", "seq", "type", "tenant_id", "resource_type", "resource_id", "data"}
    assert "$defs" not in str(components)  # refs point into #/components/schemas
    doc = cat.document()
    assert doc["version"] == cat.CATALOGUE_VERSION and len(doc["types"]) == len(cat.catalogue())


def test_call_and_registration_schemas_name_the_fields_the_engine_emits() -> None:
    assert set(CALL_FIELDS) <= set(cat.CallEventData.model_fields)
    assert set(REGISTRATION_FIELDS) <= set(cat.RegistrationEventData.model_fields)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cdr = Cdr(id="cdr_1", tenant_id="ten_1", call_id="abc", direction="inbound", started_at=now)
    emitted = call_data(cdr, leg="b")
    assert set(emitted) <= set(cat.CallEventData.model_fields), set(emitted) - set(cat.CallEventData.model_fields)
    cat.CallEventData.model_validate(emitted)
    reg = SipRegistration(
        id="reg_1",
        tenant_id="ten_1",
        extension_id="ext_1",
        aor="sip:200@t",
        contact_uri="sip:200@1.2.3.4",
        source_ip="1.2.3.4",
        source_port=5060,
        transport="udp",
        user_agent="X",
        expires_at=now,
    )
    emitted = registration_data(reg)
    assert set(emitted) <= set(cat.RegistrationEventData.model_fields)
    cat.RegistrationEventData.model_validate(emitted)


def test_the_bus_envelope_validates_against_the_published_schema() -> None:
    e = Event(
        "evt_1", 7, "extension.created", "ten_1", "/p/ten_1/", "extension", "ext_1", datetime.now(UTC), {"id": "x"}
    )
    env = e.envelope()
    assert set(env) == set(cat.EventEnvelope.model_fields)
    assert cat.EventEnvelope.model_validate(env).seq == 7


def test_docs_section_is_regenerated_in_place(tmp_path: Path) -> None:
    page = tmp_path / "events.md"
    page.write_text(f"intro\n{cat.START_MARK}\nstale\n{cat.END_MARK}\noutro\n")
    assert cat.write_docs(page) is True
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "stale" not in text
    assert "`call.ended`" in text
    assert cat.write_docs(page) is False
