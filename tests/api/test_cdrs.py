"""Call detail records: written through the engine's writer (``centrex.cdr.writer``), read through the API with two
tenants: every filter, pagination, CSV export (columns, formula escaping), missed calls per extension, end users
who see only their own extension's calls, bad filters, crash recovery and the billing rounding rule."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from centrex.cdr import writer
from centrex.db.models.cdr import Cdr
from centrex.domain.errors import NotFound
from tests.api.harness import ADMIN, World, running_app
from tests.conftest import ThrowawayDatabase

T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


def url(tenant: dict[str, Any], tail: str = "") -> str:
    return f"/api/v1/tenants/{tenant['id']}/cdrs{tail}"


async def call(
    w: World,
    tenant: dict[str, Any] | None = None,
    *,
    start: datetime = T0,
    ring: float | None = 1.0,
    talk: float | None = 30.0,
    disposition: str = "answered",
    direction: str = "inbound",
    caller: str = "+14155550100",
    callee: str = "201",
    did: str | None = "+12125550199",
    extension_id: str | None = None,
    caller_name: str | None = "Ada",
    end: bool = True,
) -> str:
    """One call through the writer: start, optional answer after ``ring`` s, end after ``talk`` more seconds."""
    db = w.api.state.db
    cdr_id = await writer.start_call(
        db,
        tenant_id=(tenant or w.a)["id"],
        call_id=f"call-{start.timestamp()}-{callee}@test",
        direction=direction,
        caller_number=caller,
        caller_name=caller_name,
        callee_number=callee,
        did=did,
        extension_id=extension_id,
        trunk_id=None,
        at=start,
    )
    answered = disposition == "answered"
    if answered:
        assert await writer.answer(db, cdr_id, start + timedelta(seconds=ring or 0))
    if end:
        stop = start + timedelta(seconds=(ring or 0) + (talk or 0))
        cause = {"busy": 486, "no_answer": 480, "failed": 503, "cancelled": 487}.get(disposition)
        assert await writer.end_call(
            db, cdr_id, at=stop, disposition=disposition, hangup_cause=cause, hangup_by="caller"
        )
    return cdr_id


async def ids(w: World, params: dict[str, Any] | None = None, headers: Any = None, auth: Any = None) -> list[str]:
    r = await w.client.get(url(w.a), params=params, headers=headers if auth else (headers or w.a_key), auth=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["X-Total-Count"] == str(body["total"])
    return [item["id"] for item in body["items"]]


# ================================================================================================= writer
async def test_writer_records_a_call_with_legs_and_rounds_durations_up(world: World) -> None:
    w = world
    db = w.api.state.db
    ext = await w.api.extension(w.a["id"], w.a_key)
    cdr_id = await writer.start_call(
        db,
        tenant_id=w.a["id"],
        call_id="abc@host",
        direction="inbound",
        caller_number="+14155550100",
        caller_name="Ada",
        callee_number=ext["number"],
        did="+12125550199",
        extension_id=ext["id"],
        trunk_id=None,
        at=T0,
    )
    leg = await writer.add_leg(db, cdr_id, {"role": "caller", "call_id": "abc@host", "started_at": T0})
    callee_leg = await writer.add_leg(db, cdr_id, {"id": "b", "role": "callee", "status": "ringing"})
    assert callee_leg == "b" and leg != "b"
    await writer.update_leg(db, cdr_id, "b", {"status": "answered", "answered_at": T0 + timedelta(seconds=2)})
    with pytest.raises(ValueError, match="already has a leg"):
        await writer.add_leg(db, cdr_id, {"id": "b"})
    with pytest.raises(NotFound):
        await writer.update_leg(db, cdr_id, "nope", {"status": "x"})
    with pytest.raises(ValueError, match="JSON"):
        await writer.add_leg(db, cdr_id, {"bad": object()})
    # In progress: visible at once (each call committed), nothing computed yet.
    r = await w.client.get(url(w.a, f"/{cdr_id}"), headers=w.a_key)
    assert r.status_code == 200 and r.json()["disposition"] == "in_progress" and r.json()["ended_at"] is None
    assert await writer.answer(db, cdr_id, T0 + timedelta(seconds=2.4))
    assert not await writer.answer(db, cdr_id, T0 + timedelta(seconds=9))  # the first answer counts
    assert await writer.end_call(
        db, cdr_id, at=T0 + timedelta(seconds=63.4), disposition="answered", hangup_cause=None, hangup_by="callee"
    )
    assert not await writer.end_call(  # already ended: unchanged
        db, cdr_id, at=T0 + timedelta(seconds=99), disposition="failed", hangup_cause=500, hangup_by="system"
    )
    r = await w.client.get(url(w.a, f"/{cdr_id}"), headers=w.a_key)
    body = r.json()
    assert body["started_at"] == "2026-03-01T09:00:00Z"
    assert body["answered_at"] == "2026-03-01T09:00:02.400000Z"
    assert body["ended_at"] == "2026-03-01T09:01:03.400000Z"
    assert body["duration_seconds"] == 64  # 63.4 s rounded up
    assert body["billable_seconds"] == 61  # exactly 61.0 s stays 61
    assert body["disposition"] == "answered" and body["hangup_by"] == "callee" and body["hangup_cause"] is None
    assert body["direction"] == "inbound" and body["did"] == "+12125550199" and body["extension_id"] == ext["id"]
    legs = {leg["id"]: leg for leg in body["legs"]}
    assert legs[leg]["started_at"] == "2026-03-01T09:00:00Z" and legs[leg]["role"] == "caller"
    assert legs["b"] == {"id": "b", "role": "callee", "status": "answered", "answered_at": "2026-03-01T09:00:02Z"}


async def test_rounding_rule_and_never_answered_calls(world: World) -> None:
    w = world
    assert writer.round_up_seconds(T0, T0) == 0
    assert writer.round_up_seconds(T0, T0 + timedelta(microseconds=1)) == 1
    assert writer.round_up_seconds(T0, T0 + timedelta(seconds=0.2)) == 1
    assert writer.round_up_seconds(T0, T0 + timedelta(seconds=61)) == 61
    assert writer.round_up_seconds(T0, T0 + timedelta(seconds=61.001)) == 62
    assert writer.round_up_seconds(T0, T0 - timedelta(seconds=5)) == 0
    missed = await call(w, disposition="no_answer", ring=None, talk=20.5)
    short = await call(w, start=T0 + timedelta(minutes=1), ring=0.5, talk=0.2)
    r = await w.client.get(url(w.a, f"/{missed}"), headers=w.a_key)
    assert r.json()["duration_seconds"] == 21 and r.json()["billable_seconds"] == 0
    assert r.json()["answered_at"] is None and r.json()["hangup_cause"] == 480
    r = await w.client.get(url(w.a, f"/{short}"), headers=w.a_key)
    assert r.json()["duration_seconds"] == 1 and r.json()["billable_seconds"] == 1
    # A wall clock that steps back never gives negative or inverted times.
    db = w.api.state.db
    odd = await call(w, start=T0 + timedelta(minutes=2), end=False, disposition="failed")
    assert await writer.answer(db, odd, T0)  # before the start: clamped to it
    assert await writer.end_call(db, odd, at=T0, disposition="answered", hangup_cause=None, hangup_by="caller")
    r = await w.client.get(url(w.a, f"/{odd}"), headers=w.a_key)
    body = r.json()
    assert body["answered_at"] == body["started_at"] == body["ended_at"] == "2026-03-01T09:02:00Z"
    assert body["duration_seconds"] == body["billable_seconds"] == 0


async def test_writer_refuses_bad_values_and_changes_nothing(world: World) -> None:
    w = world
    db = w.api.state.db
    kwargs: dict[str, Any] = {
        "tenant_id": w.a["id"],
        "call_id": "x@y",
        "direction": "inbound",
        "caller_number": "1",
        "caller_name": None,
        "callee_number": "2",
        "did": None,
        "extension_id": None,
        "trunk_id": None,
        "at": T0,
    }
    with pytest.raises(ValueError, match="direction"):
        await writer.start_call(db, **{**kwargs, "direction": "sideways"})
    with pytest.raises(ValueError, match="timezone"):
        await writer.start_call(db, **{**kwargs, "at": datetime(2026, 1, 1)})
    with pytest.raises(ValueError, match="caller_number"):
        await writer.start_call(db, **{**kwargs, "caller_number": "1" * 65})
    assert await ids(w) == []
    cdr_id = await writer.start_call(db, **kwargs)
    for bad in (
        {"disposition": "in_progress"},
        {"disposition": "interrupted"},
        {"disposition": "answered"},  # never answered
        {"hangup_by": "someone"},
        {"hangup_cause": 99},
        {"hangup_cause": True},
    ):
        args: dict[str, Any] = {"at": T0, "disposition": "busy", "hangup_cause": 486, "hangup_by": "callee", **bad}
        with pytest.raises(ValueError):
            await writer.end_call(db, cdr_id, **args)
    with pytest.raises(NotFound):
        await writer.answer(db, "cdr_nope", T0)
    r = await w.client.get(url(w.a, f"/{cdr_id}"), headers=w.a_key)
    assert r.json()["disposition"] == "in_progress" and r.json()["hangup_by"] is None


async def test_recover_interrupted_marks_only_calls_in_progress(world: World) -> None:
    w = world
    db = w.api.state.db
    running = await call(w, end=False, disposition="failed")
    answered_running = await call(w, start=T0 + timedelta(seconds=5), end=False)
    other_tenant = await call(w, w.b, end=False, disposition="failed")
    done = await call(w, start=T0 + timedelta(seconds=10))
    busy = await call(w, start=T0 + timedelta(seconds=20), disposition="busy", ring=None, talk=3)
    before = {c["id"]: c for c in (await w.client.get(url(w.a), headers=w.a_key)).json()["items"]}
    r = await w.client.get(url(w.a, f"/{running}"), headers=w.a_key)  # now in the response cache
    assert r.json()["disposition"] == "in_progress"
    async with db.session() as session:  # the database is shared with other tests: count what is left over
        leftover = len((await session.execute(select(Cdr.id).where(Cdr.disposition == "in_progress"))).all())
    restart = datetime.now(UTC)
    assert leftover >= 3
    assert await writer.recover_interrupted(db) == leftover
    assert await writer.recover_interrupted(db) == 0  # nothing left in progress
    after = {c["id"]: c for c in (await w.client.get(url(w.a), headers=w.a_key)).json()["items"]}
    for cdr_id in (running, answered_running):
        rec = after[cdr_id]
        assert rec["disposition"] == "interrupted" and rec["hangup_by"] == "system"
        ended = datetime.fromisoformat(rec["ended_at"])
        assert restart - timedelta(seconds=5) <= ended <= datetime.now(UTC)
        assert rec["duration_seconds"] == rec["billable_seconds"] == 0  # the real end is unknown: never billed
    assert after[answered_running]["answered_at"] is not None
    r = await w.client.get(url(w.a, f"/{running}"), headers=w.a_key)  # the cached answer was dropped
    assert r.json()["disposition"] == "interrupted"
    assert after[done] == before[done] and after[busy] == before[busy]
    r = await w.client.get(url(w.b, f"/{other_tenant}"), headers=w.b_key)
    assert r.json()["disposition"] == "interrupted"
    # An engine still holding such a call cannot overwrite the recovered record.
    assert not await writer.end_call(db, running, at=T0, disposition="busy", hangup_cause=486, hangup_by="callee")
    assert not await writer.answer(db, running, T0)


async def test_a_restart_marks_calls_left_in_progress_interrupted(fresh_database: ThrowawayDatabase) -> None:
    """A real stop and start of the app over one database: the start (lifespan) runs the recovery."""
    async with running_app(fresh_database) as first:
        tenant = await first.tenant()
        db = first.state.db
        kwargs: dict[str, Any] = {"direction": "inbound", "caller_name": None, "did": None, "trunk_id": None}
        cut_off = await writer.start_call(
            db,
            tenant_id=tenant["id"],
            call_id="a@x",
            caller_number="1",
            callee_number="2",
            extension_id=None,
            at=T0,
            **kwargs,
        )
        finished = await writer.start_call(
            db,
            tenant_id=tenant["id"],
            call_id="b@x",
            caller_number="1",
            callee_number="3",
            extension_id=None,
            at=T0,
            **kwargs,
        )
        await writer.end_call(
            db, finished, at=T0 + timedelta(seconds=4), disposition="busy", hangup_cause=486, hangup_by="callee"
        )
    async with running_app(fresh_database) as second:
        r = await second.client.get(f"/api/v1/tenants/{tenant['id']}/cdrs/{cut_off}", auth=ADMIN)
        assert r.status_code == 200 and r.json()["disposition"] == "interrupted" and r.json()["ended_at"]
        r = await second.client.get(f"/api/v1/tenants/{tenant['id']}/cdrs/{finished}", auth=ADMIN)
        assert r.json()["disposition"] == "busy" and r.json()["duration_seconds"] == 4


# ================================================================================================= list + filters
async def test_filters_combine_and_lists_are_newest_first(world: World) -> None:
    w = world
    e1 = await w.api.extension(w.a["id"], w.a_key)
    e2 = await w.api.extension(w.a["id"], w.a_key)
    c_in = await call(w, start=T0, extension_id=e1["id"], callee=e1["number"])
    c_busy = await call(
        w, start=T0 + timedelta(hours=1), disposition="busy", extension_id=e2["id"], callee=e2["number"], talk=2
    )
    c_out = await call(
        w,
        start=T0 + timedelta(hours=2),
        direction="outbound",
        caller=e1["number"],
        callee="+442071234567",
        did=None,
        extension_id=e1["id"],
    )
    c_int = await call(  # e2 calls e1: about e1, placed by e2
        w,
        start=T0 + timedelta(hours=3),
        direction="internal",
        caller=e2["number"],
        callee=e1["number"],
        did=None,
        extension_id=e1["id"],
        disposition="no_answer",
        ring=None,
    )
    await call(w, w.b, start=T0 + timedelta(hours=4))  # another tenant: never listed
    assert await ids(w) == [c_int, c_out, c_busy, c_in]
    assert await ids(w, {"sort": "started_at"}) == [c_in, c_busy, c_out, c_int]
    # Date range: from inclusive, to exclusive, any zone.
    assert await ids(w, {"from": "2026-03-01T10:00:00Z"}) == [c_int, c_out, c_busy]
    assert await ids(w, {"from": "2026-03-01T10:00:00Z", "to": "2026-03-01T11:00:00Z"}) == [c_busy]
    assert await ids(w, {"to": "2026-03-01T06:00:00-05:00"}) == [c_busy, c_in]  # 11:00Z
    # Extension: calls about it, and internal calls it placed.
    assert await ids(w, {"extension_id": e1["id"]}) == [c_int, c_out, c_in]
    assert await ids(w, {"extension_id": e2["id"]}) == [c_int, c_busy]
    assert await ids(w, {"extension_id": "ext_unknown"}) == []
    # Number: caller, callee or DID, by digits, equal or ending with them.
    assert await ids(w, {"number": "(415) 555-0100"}) == [c_busy, c_in]
    assert await ids(w, {"number": "+1 212 555 0199"}) == [c_busy, c_in]
    assert await ids(w, {"number": "442071234567"}) == [c_out]
    assert await ids(w, {"number": e2["number"]}) == [c_int, c_busy]
    assert await ids(w, {"number": "99999999"}) == []
    assert await ids(w, {"direction": "internal"}) == [c_int]
    assert await ids(w, {"direction": "outbound", "extension_id": e1["id"]}) == [c_out]
    assert await ids(w, {"disposition": "busy"}) == [c_busy]
    assert await ids(w, {"disposition": "no_answer", "direction": "inbound"}) == []
    assert await ids(w, {"disposition": "interrupted"}) == []


async def test_pagination_with_offset_and_cursor(world: World) -> None:
    w = world
    made = [await call(w, start=T0 + timedelta(minutes=i)) for i in range(7)]
    newest_first = list(reversed(made))
    r = await w.client.get(url(w.a), params={"limit": 3}, headers=w.a_key)
    body = r.json()
    assert r.headers["X-Total-Count"] == "7" and body["total"] == 7
    assert [i["id"] for i in body["items"]] == newest_first[:3]
    assert await ids(w, {"limit": 3, "offset": 3}) == newest_first[3:6]
    seen, cursor = [], None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = await w.client.get(url(w.a), params=params, headers=w.a_key)
        seen += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first
    r = await w.client.get(url(w.a), params={"limit": 501}, headers=w.a_key)
    assert r.status_code == 422
    r = await w.client.get(url(w.a), params={"cursor": "garbage!"}, headers=w.a_key)
    assert r.status_code == 422
    r = await w.client.get(url(w.a), params={"sort": "caller_name"}, headers=w.a_key)
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-03-01T10:00:00"}, "from"),  # no zone
        ({"to": "1700000000"}, "to"),  # Unix time
        ({"to": "2026-02-30T00:00:00Z"}, "to"),
        ({"disposition": "missed"}, "disposition"),
        ({"direction": "sideways"}, "direction"),
        ({"number": "abc"}, "number"),
        ({"number": "1" * 33}, "number"),
    ],
)
async def test_bad_filters_are_422(world: World, params: dict[str, str], field: str) -> None:
    w = world
    for target in (url(w.a), url(w.a, "/export.csv")):
        r = await w.client.get(target, params=params, headers=w.a_key)
        assert r.status_code == 422, (target, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text


async def test_inverted_range_is_422(world: World) -> None:
    w = world
    r = await w.client.get(
        url(w.a), params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, headers=w.a_key
    )
    assert r.status_code == 422 and "later than" in r.text


# ================================================================================================= CSV
async def test_csv_export_columns_filters_and_formula_escaping(world: World) -> None:
    w = world
    ext = await w.api.extension(w.a["id"], w.a_key)
    evil = await call(
        w, start=T0, caller='=HYPERLINK("http://x")', caller_name="@SUM(A1)", extension_id=ext["id"], talk=9.5
    )
    plain = await call(w, start=T0 + timedelta(hours=1), caller="+14155550123", caller_name='Bob "B", Jr.')
    await call(w, w.b, start=T0 + timedelta(hours=2), caller_name="Other tenant")
    r = await w.client.get(url(w.a, "/export.csv"), headers=w.a_key)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"] and r.headers["X-Total-Count"] == "2"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == [
        "id",
        "call_id",
        "direction",
        "caller_number",
        "caller_name",
        "callee_number",
        "did",
        "extension_id",
        "trunk_id",
        "started_at",
        "answered_at",
        "ended_at",
        "duration_seconds",
        "billable_seconds",
        "disposition",
        "hangup_cause",
        "hangup_by",
    ]
    assert [row["id"] for row in rows] == [plain, evil]  # newest first; the other tenant's call is absent
    first, second = rows
    assert first["caller_number"] == "+14155550123"  # a plain number is not a formula
    assert first["caller_name"] == 'Bob "B", Jr.'
    assert second["caller_number"] == '\'=HYPERLINK("http://x")' and second["caller_name"] == "'@SUM(A1)"
    assert second["started_at"] == "2026-03-01T09:00:00Z" and second["ended_at"] == "2026-03-01T09:00:10.500000Z"
    assert second["duration_seconds"] == "11" and second["billable_seconds"] == "10"
    assert second["hangup_cause"] == "" and second["trunk_id"] == "" and second["extension_id"] == ext["id"]
    # Same filters as the list.
    r = await w.client.get(url(w.a, "/export.csv"), params={"extension_id": ext["id"]}, headers=w.a_key)
    assert [row["id"] for row in csv.DictReader(io.StringIO(r.text))] == [evil]
    # The list itself answers CSV when asked to (one page).
    r = await w.client.get(url(w.a), params={"limit": 1}, headers={**w.a_key, "Accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv") and r.headers["X-Total-Count"] == "2"
    assert [row["id"] for row in csv.DictReader(io.StringIO(r.text))] == [plain]


# ================================================================================================= missed calls
async def test_missed_calls_of_an_extension(world: World) -> None:
    w = world
    e1 = await w.api.extension(w.a["id"], w.a_key)
    e2 = await w.api.extension(w.a["id"], w.a_key)
    m1 = await call(w, start=T0, disposition="no_answer", ring=None, extension_id=e1["id"], callee=e1["number"])
    m2 = await call(
        w,
        start=T0 + timedelta(hours=1),
        disposition="cancelled",
        ring=None,
        direction="internal",
        caller=e2["number"],
        callee=e1["number"],
        extension_id=e1["id"],
    )
    m3 = await call(w, start=T0 + timedelta(hours=2), disposition="busy", ring=None, extension_id=e1["id"])
    await call(w, start=T0 + timedelta(hours=3), extension_id=e1["id"])  # answered
    await call(w, start=T0 + timedelta(hours=4), disposition="failed", ring=None, extension_id=e1["id"])
    await call(  # outbound from e1 that nobody answered: not a missed call of e1
        w,
        start=T0 + timedelta(hours=5),
        disposition="no_answer",
        ring=None,
        direction="outbound",
        extension_id=e1["id"],
    )
    await call(w, start=T0 + timedelta(hours=6), disposition="no_answer", ring=None, extension_id=e2["id"])
    await call(w, start=T0 + timedelta(hours=7), disposition="no_answer", ring=None, end=False, extension_id=e1["id"])
    missed_url = f"/api/v1/tenants/{w.a['id']}/extensions/{e1['id']}/missed-calls"
    r = await w.client.get(missed_url, headers=w.a_key)
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "3"
    assert [i["id"] for i in r.json()["items"]] == [m3, m2, m1]
    r = await w.client.get(missed_url, params={"limit": 2, "from": "2026-03-01T09:30:00Z"}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [m3, m2] and r.json()["total"] == 2
    r = await w.client.get(missed_url, params={"to": "not a time"}, headers=w.a_key)
    assert r.status_code == 422
    # Another tenant's extension, or an unknown one, is a 404.
    b_ext = await w.api.extension(w.b["id"], w.b_key)
    r = await w.client.get(f"/api/v1/tenants/{w.a['id']}/extensions/{b_ext['id']}/missed-calls", headers=w.a_key)
    assert r.status_code == 404
    r = await w.client.get(f"/api/v1/tenants/{w.b['id']}/extensions/{e1['id']}/missed-calls", headers=w.b_key)
    assert r.status_code == 404
    r = await w.client.get(f"/api/v1/tenants/{w.a['id']}/extensions/{e1['id']}/missed-calls", headers=w.b_key)
    assert r.status_code == 404


# ================================================================================================= tenancy + users
async def test_two_tenants_are_isolated(world: World) -> None:
    w = world
    mine = await call(w)
    theirs = await call(w, w.b)
    r = await w.client.get(url(w.a, f"/{theirs}"), headers=w.a_key)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await w.client.get(url(w.b, f"/{mine}"), headers=w.a_key)  # another tenant's path
    assert r.status_code == 404
    assert await ids(w) == [mine]
    r = await w.client.get(url(w.b), headers=w.b_key)
    assert [i["id"] for i in r.json()["items"]] == [theirs]
    # Read-only keys and the reseller above both tenants may read.
    assert await ids(w, headers=w.a_ro) == [mine]
    r = await w.client.get(url(w.b, f"/{theirs}"), headers=w.reseller_key)
    assert r.status_code == 200
    # Read-only API: no writes.
    r = await w.client.post(url(w.a), json={}, headers=w.a_key)
    assert r.status_code == 405
    r = await w.client.delete(url(w.a, f"/{mine}"), headers=w.a_key)
    assert r.status_code == 405


async def test_end_user_sees_only_their_own_extension(world: World) -> None:
    w = world
    mine = await w.api.extension(w.a["id"], w.a_key)
    other = await w.api.extension(w.a["id"], w.a_key)
    username, password, _ = await w.api.user(w.a["id"], "user", headers=w.a_key, extension_id=mine["id"])
    me = (username, password)
    to_me = await call(w, start=T0, extension_id=mine["id"], callee=mine["number"])
    missed = await call(w, start=T0 + timedelta(hours=1), extension_id=mine["id"], disposition="no_answer", ring=None)
    i_called = await call(  # internal, from me to the other extension
        w,
        start=T0 + timedelta(hours=2),
        direction="internal",
        caller=mine["number"],
        callee=other["number"],
        did=None,
        extension_id=other["id"],
    )
    not_mine = await call(w, start=T0 + timedelta(hours=3), extension_id=other["id"])
    unassigned = await call(w, start=T0 + timedelta(hours=4))
    assert await ids(w, auth=me) == [i_called, missed, to_me]
    assert await ids(w, {"extension_id": other["id"]}, auth=me) == [i_called]  # filters narrow, never widen
    assert await ids(w, {"disposition": "no_answer"}, auth=me) == [missed]
    for hidden in (not_mine, unassigned):
        r = await w.client.get(url(w.a, f"/{hidden}"), auth=me)
        assert r.status_code == 404
    r = await w.client.get(url(w.a, f"/{to_me}"), auth=me)
    assert r.status_code == 200
    r = await w.client.get(url(w.a, "/export.csv"), auth=me)
    assert [row["id"] for row in csv.DictReader(io.StringIO(r.text))] == [i_called, missed, to_me]
    base = f"/api/v1/tenants/{w.a['id']}/extensions"
    r = await w.client.get(f"{base}/{mine['id']}/missed-calls", auth=me)
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [missed]
    r = await w.client.get(f"{base}/{other['id']}/missed-calls", auth=me)
    assert r.status_code == 404
    # The permission is listed for users.
    r = await w.client.get("/api/v1/auth/me", auth=me)
    assert "cdrs.read" in r.json()["permissions"] and "cdrs.delete" not in r.json()["permissions"]
