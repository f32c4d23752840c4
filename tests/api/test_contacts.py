"""Phonebooks and contacts: the generic checks, then every rule through HTTP with two tenants (company and personal
phonebooks, typed numbers with E.164, find by number and by text, speed dials, legacy ids, CSV import with its
per-line report and CSV export, end users who see only company phonebooks and their own)."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.api.harness import World, unique
from tests.api.mixins import TenantResourceTests

CSV = {"content-type": "text/csv"}


def base(tenant: dict[str, Any], plural: str) -> str:
    return f"/api/v1/tenants/{tenant['id']}/{plural}"


def key_of(w: World, tenant: dict[str, Any]) -> dict[str, str]:
    return w.a_key if tenant is w.a else w.b_key


async def book(w: World, tenant: dict[str, Any], auth: Any = None, **extra: Any) -> dict[str, Any]:
    body = {"name": unique("Book "), **extra}
    headers = None if auth else key_of(w, tenant)
    r = await w.client.post(base(tenant, "phonebooks"), json=body, headers=headers, auth=auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def contact(
    w: World, tenant: dict[str, Any], phonebook_id: str, auth: Any = None, **extra: Any
) -> dict[str, Any]:
    body = {"phonebook_id": phonebook_id, "first_name": "Ada", "last_name": unique("L"), **extra}
    headers = None if auth else key_of(w, tenant)
    r = await w.client.post(base(tenant, "contacts"), json=body, headers=headers, auth=auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def find(w: World, tenant: dict[str, Any], number: str, auth: Any = None, **params: Any) -> list[str]:
    headers = None if auth else key_of(w, tenant)
    r = await w.client.get(
        f"{base(tenant, 'contacts')}/find", params={"number": number, **params}, headers=headers, auth=auth
    )
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


async def listed(w: World, tenant: dict[str, Any], auth: Any = None, **params: Any) -> list[str]:
    headers = None if auth else key_of(w, tenant)
    r = await w.client.get(base(tenant, "contacts"), params={"limit": 500, **params}, headers=headers, auth=auth)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


async def import_csv(w: World, tenant: dict[str, Any], phonebook_id: str, text: str | bytes, **params: Any) -> Any:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return await w.client.post(
        f"{base(tenant, 'phonebooks')}/{phonebook_id}/import",
        content=data,
        params=params,
        headers={**key_of(w, tenant), **CSV},
    )


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# ================================================================================================= generic checks
class TestPhonebooks(TenantResourceTests):
    plural = "phonebooks"
    resource = "phonebook"
    invalid = [
        ({"name": ""}, "name"),
        ({"name": " "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "bad\nname"}, "name"),
        ({"name": None}, "name"),
        ({"scope": "team"}, "scope"),
        ({"source": "fax"}, "source"),
        ({"description": "x" * 501}, "description"),
        ({"scope": "personal"}, "owner_user_id"),
        ({"scope": "personal", "owner_user_id": "usr_doesnotexist"}, "owner_user_id"),
        ({"owner_user_id": "usr_doesnotexist"}, "owner_user_id"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {"name": unique("Directory "), "description": "Suppliers and partners"}

    def update(self) -> dict[str, Any]:
        return {"description": "Suppliers only", "source": "csv"}


class TestContacts(TenantResourceTests):
    plural = "contacts"
    resource = "contact"
    cached = False  # the list varies with Accept (JSON or CSV), so it is answered fresh
    invalid = [
        ({"phonebook_id": "pbk_doesnotexist"}, "phonebook_id"),
        ({"phonebook_id": None}, "phonebook_id"),
        ({"first_name": "", "last_name": " ", "company": ""}, "first_name"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"company": "x" * 201}, "company"),
        ({"first_name": "bad\x07"}, "first_name"),
        ({"numbers": [{"type": "mobile", "number": "call me"}]}, "numbers.0.number"),
        ({"numbers": [{"type": "mobile", "number": ""}]}, "numbers.0.number"),
        ({"numbers": [{"type": "mobile", "number": "1" * 33}]}, "numbers.0.number"),
        ({"numbers": [{"type": "fax", "number": "4155550100"}]}, "numbers.0.type"),
        ({"numbers": [{"type": "mobile", "number": "4155550100", "x": 1}]}, "numbers.0.x"),
        ({"numbers": [{"number": "4155550100"}] * 21}, "numbers"),
        ({"numbers": "4155550100"}, "numbers"),
        ({"emails": [{"type": "work", "email": "not-an-email"}]}, "emails.0.email"),
        ({"emails": [{"type": "office", "email": "a@example.com"}]}, "emails.0.type"),
        ({"emails": [{"email": "a@example.com"}] * 11}, "emails"),
        ({"speed_dial": "12a"}, "speed_dial"),
        ({"speed_dial": "123456789"}, "speed_dial"),
        ({"speed_dial": 12}, "speed_dial"),
        ({"tags": ["a;b"]}, "tags.0"),
        ({"tags": [""]}, "tags.0"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"notes": "x" * 2001}, "notes"),
        ({"legacy_id": 0}, "legacy_id"),
        ({"legacy_id": "7"}, "legacy_id"),
        ({"legacy_id": 10**9}, "legacy_id"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        r = await w.client.post(base(tenant, "phonebooks"), json={"name": unique("Book ")}, headers=headers)
        assert r.status_code == 201, r.text
        return {
            "phonebook_id": r.json()["id"],
            "first_name": "Grace",
            "last_name": "Hopper",
            "company": "Navy",
            "numbers": [{"type": "business", "number": "+1 (415) 555-0100"}],
            "emails": [{"type": "work", "email": "grace@example.com"}],
            "tags": ["vip"],
        }

    def update(self) -> dict[str, Any]:
        return {"title": "Rear Admiral", "notes": "COBOL", "numbers": [{"type": "mobile", "number": "4155550199"}]}


# ================================================================================================= phonebooks
async def test_phonebook_names_are_unique_per_tenant(world: World) -> None:
    w, c = world, world.client
    url = base(w.a, "phonebooks")
    first = await book(w, w.a, name="Company")
    r = await c.post(url, json={"name": "Company"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate" and r.json()["field"] == "name"
    r = await c.post(url, json={"name": "  Company  "}, headers=w.a_key)
    assert r.status_code == 409  # names are trimmed
    second = await book(w, w.a, name="Suppliers")
    r = await c.patch(f"{url}/{second['id']}", json={"name": "Company"}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.patch(f"{url}/{first['id']}", json={"name": "Company", "description": "x"}, headers=w.a_key)
    assert r.status_code == 200
    assert (await book(w, w.b, name="Company"))["name"] == "Company"  # another tenant has its own names
    for body in ({"name": None}, {"scope": None}, {"source": None}, {"description": None}, {"name": ""}):
        assert (await c.patch(f"{url}/{first['id']}", json=body, headers=w.a_key)).status_code == 422, body
    r = await c.get(url, params={"q": "SUPP"}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [second["id"]]
    r = await c.get(url, params={"q": "%"}, headers=w.a_key)  # LIKE wildcards are literal
    assert r.json()["total"] == 0


async def test_personal_phonebooks_belong_to_a_user_of_the_tenant(world: World) -> None:
    w, c = world, world.client
    url = base(w.a, "phonebooks")
    ext = await w.api.extension(w.a["id"], w.a_key)
    _, _, alice = await w.api.user(w.a["id"], "user", headers=w.a_key, extension_id=ext["id"])
    b_ext = await w.api.extension(w.b["id"], w.b_key)
    _, _, stranger = await w.api.user(w.b["id"], "user", headers=w.b_key, extension_id=b_ext["id"])
    mine = await book(w, w.a, scope="personal", owner_user_id=alice["id"])
    assert mine["scope"] == "personal" and mine["owner_user_id"] == alice["id"] and mine["source"] == "manual"
    r = await c.post(url, json={"name": "x", "scope": "personal", "owner_user_id": stranger["id"]}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    assert r.json()["errors"][0]["field"] == "owner_user_id"
    r = await c.post(url, json={"name": "x", "owner_user_id": alice["id"]}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "owner_user_id"  # company: no owner
    # Scope changes: company needs no owner (and drops it), personal needs one.
    company = await book(w, w.a)
    r = await c.patch(f"{url}/{company['id']}", json={"scope": "personal"}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "owner_user_id"
    r = await c.patch(f"{url}/{company['id']}", json={"owner_user_id": alice["id"]}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.patch(
        f"{url}/{company['id']}", json={"scope": "personal", "owner_user_id": stranger["id"]}, headers=w.a_key
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    r = await c.patch(f"{url}/{mine['id']}", json={"scope": "company"}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["owner_user_id"] is None
    r = await c.patch(f"{url}/{mine['id']}", json={"scope": "personal", "owner_user_id": alice["id"]}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["owner_user_id"] == alice["id"]
    # Filters.
    r = await c.get(url, params={"scope": "personal"}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [mine["id"]]
    r = await c.get(url, params={"owner_user_id": alice["id"]}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [mine["id"]]
    await c.patch(f"{url}/{company['id']}", json={"source": "crm"}, headers=w.a_key)
    r = await c.get(url, params={"source": "crm"}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [company["id"]]
    assert (await c.get(url, params={"scope": "team"}, headers=w.a_key)).status_code == 422


async def test_deleting_a_phonebook_deletes_its_contacts(world: World) -> None:
    w, c = world, world.client
    doomed, kept = await book(w, w.a), await book(w, w.a)
    gone = [await contact(w, w.a, doomed["id"], numbers=[{"number": "4155550111"}]) for _ in range(2)]
    stays = await contact(w, w.a, kept["id"], numbers=[{"number": "4155550111"}])
    other = await contact(w, w.b, (await book(w, w.b))["id"], numbers=[{"number": "4155550111"}])
    r = await c.delete(f"{base(w.a, 'phonebooks')}/{doomed['id']}", headers=w.a_key)
    assert r.status_code == 204, r.text
    for obj in gone:
        assert (await c.get(f"{base(w.a, 'contacts')}/{obj['id']}", headers=w.a_key)).status_code == 404
        r = await c.get(f"{base(w.a, 'audit-log')}", params={"resource_id": obj["id"]}, headers=w.a_key)
        assert "delete" in [e["action"] for e in r.json()["items"]]
    assert await find(w, w.a, "4155550111") == [stays["id"]]
    assert await find(w, w.b, "4155550111") == [other["id"]]
    r = await c.post(
        f"{base(w.a, 'phonebooks')}/{doomed['id']}/import", content=b"first_name\nx\n", headers={**w.a_key, **CSV}
    )
    assert r.status_code == 404


# ================================================================================================= contacts
async def test_numbers_are_kept_as_entered_with_e164_when_they_parse(world: World) -> None:
    w, c = world, world.client
    pb = await book(w, w.a)
    numbers = [
        {"type": "business", "number": "+1 (415) 555-0100"},
        {"type": "mobile", "number": "415.555.0101"},
        {"type": "home", "number": "0044 20 7946 0958"},
        {"type": "pager", "number": "*97"},
        {"type": "other", "number": "201"},
        {"number": "+49 30 901820"},
    ]
    emails = [{"email": "ada@example.com"}, {"type": "home", "email": "ada@home.example"}]
    made = await contact(w, w.a, pb["id"], numbers=numbers, emails=emails, tags=["vip", "vip", "board"])
    assert made["numbers"] == [
        {"type": "business", "number": "+1 (415) 555-0100", "e164": "+14155550100"},
        {"type": "mobile", "number": "415.555.0101", "e164": "+14155550101"},
        {"type": "home", "number": "0044 20 7946 0958", "e164": "+442079460958"},
        {"type": "pager", "number": "*97", "e164": None},
        {"type": "other", "number": "201", "e164": None},
        {"type": "other", "number": "+49 30 901820", "e164": "+4930901820"},
    ]
    assert made["emails"] == [
        {"type": "work", "email": "ada@example.com"},
        {"type": "home", "email": "ada@home.example"},
    ]
    assert made["tags"] == ["vip", "board"]
    r = await c.get(f"{base(w.a, 'contacts')}/{made['id']}", headers=w.a_key)
    assert r.status_code == 200 and r.json() == made
    # A company alone is a name; no name at all is not.
    r = await c.post(base(w.a, "contacts"), json={"phonebook_id": pb["id"], "company": "ACME"}, headers=w.a_key)
    assert r.status_code == 201 and r.json()["first_name"] == ""
    r = await c.post(base(w.a, "contacts"), json={"phonebook_id": pb["id"], "first_name": "  "}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.patch(
        f"{base(w.a, 'contacts')}/{made['id']}", json={"first_name": "", "last_name": ""}, headers=w.a_key
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "first_name"
    for body in ({"first_name": None}, {"numbers": None}, {"tags": None}, {"phonebook_id": None}):
        r = await c.patch(f"{base(w.a, 'contacts')}/{made['id']}", json=body, headers=w.a_key)
        assert r.status_code == 422, body
    r = await c.get(f"{base(w.a, 'contacts')}/{made['id']}", headers=w.a_key)
    assert r.json() == made


async def test_find_by_number_exact_or_ends_with(world: World) -> None:
    w, c = world, world.client
    pb = await book(w, w.a)
    exact = await contact(w, w.a, pb["id"], numbers=[{"number": "997"}])
    ends = await contact(w, w.a, pb["id"], numbers=[{"type": "business", "number": "+1 415 555 0997"}])
    other = await contact(w, w.a, pb["id"], numbers=[{"number": "9970"}])
    uk = await contact(w, w.a, pb["id"], numbers=[{"number": "+44 20 7946 0958"}])
    # 3CX contact.find: equal first, then numbers ending with the digits; never "contains" or "starts with".
    assert await find(w, w.a, "997") == [exact["id"], ends["id"]]
    assert await find(w, w.a, "97", min_length=2) == [exact["id"], ends["id"]]
    assert await find(w, w.a, "997", min_length=4) == []  # fewer digits than min_length find nothing
    assert await find(w, w.a, "(415) 555-0997") == [ends["id"]]
    assert await find(w, w.a, "+14155550997") == [ends["id"]]  # E.164 finds the national form and back
    assert await find(w, w.a, "0997") == [ends["id"]]
    assert other["id"] not in await find(w, w.a, "99", min_length=2)  # "9970" only starts with it
    assert await find(w, w.a, "970") == [other["id"]]
    # Caller ID in international notation finds a number stored in another notation.
    assert await find(w, w.a, "00442079460958") == [uk["id"]]
    assert await find(w, w.a, "011 44 20 7946 0958") == [uk["id"]]
    assert await find(w, w.a, "+442079460958") == [uk["id"]]
    assert await find(w, w.a, "2079460958") == [uk["id"]]
    r = await c.get(f"{base(w.a, 'contacts')}/find", params={"number": "+1 415 555 0997"}, headers=w.a_key)
    assert r.json()["number"] == "14155550997" and r.json()["items"][0]["id"] == ends["id"]
    # Only the given phonebook; never another tenant's contacts.
    pb2 = await book(w, w.a)
    second = await contact(w, w.a, pb2["id"], numbers=[{"number": "997"}])
    assert await find(w, w.a, "997", phonebook_id=pb2["id"]) == [second["id"]]
    await contact(w, w.b, (await book(w, w.b))["id"], numbers=[{"number": "997"}])
    assert set(await find(w, w.a, "997")) == {exact["id"], ends["id"], second["id"]}
    for params in ({"number": ""}, {"number": "1" * 33}, {"number": "997", "min_length": 0}, {}):
        assert (await c.get(f"{base(w.a, 'contacts')}/find", params=params, headers=w.a_key)).status_code == 422
    assert await find(w, w.a, "no digits", min_length=1) == []
    # A changed number is found at once (the cached answer is dropped), the old one no longer.
    assert await find(w, w.a, "5550123") == []
    r = await c.patch(
        f"{base(w.a, 'contacts')}/{ends['id']}", json={"numbers": [{"number": "415 555 0123"}]}, headers=w.a_key
    )
    assert r.status_code == 200 and r.json()["numbers"][0]["e164"] == "+14155550123"
    assert await find(w, w.a, "5550123") == [ends["id"]]
    assert ends["id"] not in await find(w, w.a, "4155550997")
    assert (await c.get(f"{base(w.b, 'contacts')}/find", params={"number": "997"}, headers=w.a_key)).status_code == 404


async def test_find_by_text_and_filters(world: World) -> None:
    w, c = world, world.client
    pb, pb2 = await book(w, w.a), await book(w, w.a)
    ada = await contact(w, w.a, pb["id"], first_name="Ada", last_name="Lovelace", tags=["VIP", "Math"])
    acme = await contact(w, w.a, pb2["id"], first_name="", last_name="", company="ACME 100% Inc", tags=["café"])
    bob = await contact(w, w.a, pb["id"], first_name="Bob", last_name="Müller", speed_dial="12", tags=['x"y'])
    assert await listed(w, w.a, q="love") == [ada["id"]]
    assert await listed(w, w.a, q="ADA LOVE") == [ada["id"]]
    assert await listed(w, w.a, q="100%") == [acme["id"]]
    assert await listed(w, w.a, q="%") == [acme["id"]]  # a literal percent sign, not a wildcard
    assert await listed(w, w.a, q="_") == []
    assert await listed(w, w.a, q="müller") == [bob["id"]]
    assert await listed(w, w.a, tag="vip") == [ada["id"]]
    assert await listed(w, w.a, tag="Math") == [ada["id"]]
    assert await listed(w, w.a, tag="mat") == []  # whole tags only
    assert await listed(w, w.a, tag="café") == [acme["id"]]
    assert await listed(w, w.a, tag='x"y') == [bob["id"]]
    assert await listed(w, w.a, speed_dial="12") == [bob["id"]]
    assert await listed(w, w.a, legacy_id=ada["legacy_id"]) == [ada["id"]]
    assert set(await listed(w, w.a, phonebook_id=pb["id"])) == {ada["id"], bob["id"]}
    assert await listed(w, w.a, sort="name") == [acme["id"], ada["id"], bob["id"]]
    assert await listed(w, w.a, sort="-last_name") == [bob["id"], ada["id"], acme["id"]]
    assert (await c.get(base(w.a, "contacts"), params={"sort": "numbers"}, headers=w.a_key)).status_code == 422
    assert (await c.get(base(w.a, "contacts"), params={"legacy_id": 0}, headers=w.a_key)).status_code == 422
    assert await listed(w, w.b, q="love") == []


async def test_speed_dials_are_unique_per_tenant(world: World) -> None:
    w, c = world, world.client
    pb = await book(w, w.a)
    first = await contact(w, w.a, pb["id"], speed_dial="7")
    r = await c.post(
        base(w.a, "contacts"), json={"phonebook_id": pb["id"], "company": "X", "speed_dial": "7"}, headers=w.a_key
    )
    assert r.status_code == 409 and r.json()["field"] == "speed_dial"
    assert first["first_name"] in r.json()["detail"]  # an administrator is told who holds it
    second = await contact(w, w.a, pb["id"], speed_dial="8")
    r = await c.patch(f"{base(w.a, 'contacts')}/{second['id']}", json={"speed_dial": "7"}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.patch(f"{base(w.a, 'contacts')}/{first['id']}", json={"speed_dial": "7"}, headers=w.a_key)
    assert r.status_code == 200
    r = await c.patch(f"{base(w.a, 'contacts')}/{first['id']}", json={"speed_dial": None}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["speed_dial"] is None
    r = await c.patch(f"{base(w.a, 'contacts')}/{second['id']}", json={"speed_dial": "7"}, headers=w.a_key)
    assert r.status_code == 200
    assert (await contact(w, w.b, (await book(w, w.b))["id"], speed_dial="7"))["speed_dial"] == "7"


async def test_legacy_ids_are_small_per_tenant_integers_kept_from_other_systems(world: World) -> None:
    w, c = world, world.client
    pb = await book(w, w.a)
    one, two = await contact(w, w.a, pb["id"]), await contact(w, w.a, pb["id"])
    assert two["legacy_id"] == one["legacy_id"] + 1
    assert (await contact(w, w.b, (await book(w, w.b))["id"]))["legacy_id"] == 1  # each tenant counts on its own
    kept = await contact(w, w.a, pb["id"], legacy_id=500)  # e.g. the 3CX id of a migrated contact
    assert kept["legacy_id"] == 500
    assert (await contact(w, w.a, pb["id"]))["legacy_id"] == 501
    r = await c.post(
        base(w.a, "contacts"), json={"phonebook_id": pb["id"], "company": "X", "legacy_id": 500}, headers=w.a_key
    )
    assert r.status_code == 409 and r.json()["field"] == "legacy_id"
    r = await c.patch(f"{base(w.a, 'contacts')}/{one['id']}", json={"legacy_id": 500}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.patch(f"{base(w.a, 'contacts')}/{one['id']}", json={"legacy_id": None}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.patch(f"{base(w.a, 'contacts')}/{one['id']}", json={"legacy_id": 42}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["legacy_id"] == 42
    assert await listed(w, w.a, legacy_id=42) == [one["id"]]
    assert (await contact(w, w.b, (await book(w, w.b))["id"], legacy_id=500))["legacy_id"] == 500


async def test_contacts_move_only_between_phonebooks_of_the_tenant(world: World) -> None:
    w, c = world, world.client
    pb, pb2, foreign = await book(w, w.a), await book(w, w.a), await book(w, w.b)
    obj = await contact(w, w.a, pb["id"])
    url = f"{base(w.a, 'contacts')}/{obj['id']}"
    r = await c.patch(url, json={"phonebook_id": foreign["id"]}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    assert r.json()["errors"][0]["field"] == "phonebook_id"
    r = await c.post(base(w.a, "contacts"), json={"phonebook_id": foreign["id"], "company": "X"}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    assert await listed(w, w.b) == []
    r = await c.patch(url, json={"phonebook_id": pb2["id"]}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["phonebook_id"] == pb2["id"]
    assert await listed(w, w.a, phonebook_id=pb2["id"]) == [obj["id"]]


# ================================================================================================= CSV
async def test_csv_import_maps_columns_and_normalises(world: World) -> None:
    w, c = world, world.client
    pb = await book(w, w.a)
    text = (
        "\ufeffFirst Name;Surname;Organization;Work Phone;Mobile;E-mail;Tags;Favourite colour;peid\r\n"
        'Ada;Lovelace;"Analytical; Engines";+1 415 555 0100;"415 555 0101 ; 415 555 0102";'
        "ada@example.com;vip, math;blue;\r\n"
        "\r\n"
        ";;ACME;;;;;;77\r\n"
    )
    r = await import_csv(w, w.a, pb["id"], text)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result == {
        "preview": False,
        "phonebook_id": pb["id"],
        "created": 2,
        "skipped": 0,
        "errors": [],
        "ignored_columns": ["Favourite colour"],
        "contacts": None,
    }
    r = await c.get(base(w.a, "contacts"), params={"phonebook_id": pb["id"], "sort": "name"}, headers=w.a_key)
    acme, ada = r.json()["items"]
    assert acme["company"] == "ACME" and acme["legacy_id"] == 77
    assert ada["first_name"] == "Ada" and ada["last_name"] == "Lovelace" and ada["company"] == "Analytical; Engines"
    assert ada["numbers"] == [
        {"type": "business", "number": "+1 415 555 0100", "e164": "+14155550100"},
        {"type": "mobile", "number": "415 555 0101", "e164": "+14155550101"},
        {"type": "mobile", "number": "415 555 0102", "e164": "+14155550102"},
    ]
    assert ada["emails"] == [{"type": "work", "email": "ada@example.com"}] and ada["tags"] == ["vip", "math"]
    assert ada["legacy_id"] == 78  # after the ids kept from the file
    assert await find(w, w.a, "4155550102") == [ada["id"]]
    # A multipart upload works the same.
    r = await c.post(
        f"{base(w.a, 'phonebooks')}/{pb['id']}/import",
        files={"file": ("more.csv", b"company,business\nInitech,+1 212 555 0100\n", "text/csv")},
        headers=w.a_key,
    )
    assert r.status_code == 200 and r.json()["created"] == 1, r.text


async def test_csv_import_with_an_invalid_line_changes_nothing(world: World) -> None:
    w = world
    pb = await book(w, w.a)
    await contact(w, w.a, pb["id"], speed_dial="5", legacy_id=9)
    text = (
        "first_name,last_name,mobile,email,speed_dial,legacy_id\n"  # line 1
        "Ada,Lovelace,4155550100,ada@example.com,,\n"  # 2: fine
        "Bob,,call me,,,\n"  # 3: bad number
        ",,,,,\n"  # 4: empty, skipped
        "Carl,,,not-an-email,,\n"  # 5: bad e-mail
        "Dan,,,,5,\n"  # 6: speed dial taken
        ",,4155550101,,,\n"  # 7: no name
        "Eve,,,,,9\n"  # 8: legacy id taken
        "Fay,,,,,x\n"  # 9: legacy id not a number
        "Gus,,,,,,extra\n"  # 10: more values than columns
        "Hal,,,,3,\n"  # 11: fine
        "Ian,,,,3,\n"  # 12: speed dial used twice in the file
    )
    before = await listed(w, w.a)
    r = await import_csv(w, w.a, pb["id"], text)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "validation_error" and "nothing was imported" in problem["detail"]
    fields = [e["field"] for e in problem["errors"]]
    assert fields == [
        "lines.3.mobile",
        "lines.5.email",
        "lines.6.speed_dial",
        "lines.7.first_name",
        "lines.8.legacy_id",
        "lines.9.legacy_id",
        "lines.10.row",
        "lines.12.speed_dial",
    ], problem
    assert await listed(w, w.a) == before
    # The preview reports the same and saves nothing either.
    r = await import_csv(w, w.a, pb["id"], text, preview="true")
    assert r.status_code == 200
    preview = r.json()
    assert preview["preview"] is True and preview["created"] == 2 and preview["skipped"] == 0
    assert [(e["line"], e["field"]) for e in preview["errors"]] == [
        (3, "mobile"),
        (5, "email"),
        (6, "speed_dial"),
        (7, "first_name"),
        (8, "legacy_id"),
        (9, "legacy_id"),
        (10, "row"),
        (12, "speed_dial"),
    ]
    assert [(p["line"], p["first_name"]) for p in preview["contacts"]] == [(2, "Ada"), (11, "Hal")]
    assert preview["contacts"][0]["numbers"][0]["e164"] == "+14155550100"
    assert await listed(w, w.a) == before
    # skip_invalid imports the good lines and reports the others.
    r = await import_csv(w, w.a, pb["id"], text, skip_invalid="true")
    assert r.status_code == 200 and r.json()["created"] == 2 and r.json()["skipped"] == 8
    assert len(await listed(w, w.a)) == len(before) + 2


async def test_csv_import_refuses_unreadable_files(world: World) -> None:
    w, c = world, world.client
    pb = await book(w, w.a)
    for data in (
        b"",
        b"\n\n",
        b"colour,size\nred,big\n",
        "first_name\nZoë\n".encode("latin-1"),
        b"first_name\x00\n",
        b'first_name\n"unterminated\n',
    ):
        r = await import_csv(w, w.a, pb["id"], data)
        assert r.status_code == 422, (data, r.text)
        assert r.json()["errors"][0]["field"] == "file", r.text
    r = await import_csv(w, w.a, pb["id"], "first_name\n" + "x\n" * 10_001)
    assert r.status_code == 422 and "10000" in r.json()["detail"]
    r = await c.post(
        f"{base(w.a, 'phonebooks')}/{pb['id']}/import", content=b"{}", headers={**w.a_key, "content-type": "image/png"}
    )
    assert r.status_code == 415
    r = await c.post(
        f"{base(w.a, 'phonebooks')}/{pb['id']}/import",
        files={"other": ("x.csv", b"first_name\nx\n", "text/csv")},
        headers=w.a_key,
    )
    assert r.status_code == 422
    assert await listed(w, w.a) == []
    # Another tenant's phonebook is not there; a read-only key may not import.
    r = await c.post(
        f"{base(w.a, 'phonebooks')}/{pb['id']}/import", content=b"first_name\nx\n", headers={**w.b_key, **CSV}
    )
    assert r.status_code == 404
    r = await c.post(
        f"{base(w.b, 'phonebooks')}/{pb['id']}/import", content=b"first_name\nx\n", headers={**w.b_key, **CSV}
    )
    assert r.status_code == 404
    r = await c.post(
        f"{base(w.a, 'phonebooks')}/{pb['id']}/import", content=b"first_name\nx\n", headers={**w.a_ro, **CSV}
    )
    assert r.status_code == 403
    assert await listed(w, w.a) == [] and await listed(w, w.b) == []


async def test_csv_export_round_trips_and_guards_formulas(world: World) -> None:
    w, c = world, world.client
    pb = await book(w, w.a)
    evil = await contact(
        w,
        w.a,
        pb["id"],
        first_name='=HYPERLINK("http://x")',
        last_name="+1+cmd|' /C calc'!A0",
        company="-2+3",
        numbers=[
            {"type": "mobile", "number": "+1 415 555 0100"},
            {"type": "mobile", "number": "415 555 0101"},
            {"type": "business_fax", "number": "+1 (415) 555-0102"},
        ],
        emails=[{"email": "a@example.com"}, {"type": "other", "email": "b@example.com"}],
        tags=["vip", "board"],
        speed_dial="3",
        notes="@SUM(1)",
    )
    plain = await contact(w, w.a, pb["id"], first_name="Zed", last_name="Plain", notes="line one\nline two")
    await contact(w, w.b, (await book(w, w.b))["id"], first_name="Other tenant")
    r = await c.get(f"{base(w.a, 'contacts')}/export.csv", headers=w.a_key)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    assert r.headers["X-Total-Count"] == "2"
    rows = rows_of(r.text)
    assert list(rows[0]) == [
        "id", "legacy_id", "first_name", "last_name", "company", "title",
        "mobile", "mobile2", "home", "home2", "business", "business2", "business_fax", "home_fax", "pager", "other",
        "email", "email_home", "email_other", "speed_dial", "tags", "notes",
    ]  # fmt: skip
    first = next(row for row in rows if row["id"] == evil["id"])
    assert first["first_name"] == '\'=HYPERLINK("http://x")'
    assert first["last_name"] == "'+1+cmd|' /C calc'!A0"
    assert first["company"] == "'-2+3"
    assert first["notes"] == "'@SUM(1)"
    assert first["mobile"] == "'+1 415 555 0100;415 555 0101"  # joined numbers are guarded too
    assert first["business_fax"] == "+1 (415) 555-0102"  # a plain number stays as it is
    assert first["email"] == "a@example.com" and first["email_other"] == "b@example.com"
    assert first["tags"] == "vip;board" and first["legacy_id"] == str(evil["legacy_id"])
    assert next(row for row in rows if row["id"] == plain["id"])["notes"] == "line one\nline two"
    # Filters apply; the list answers CSV too when asked for it.
    r = await c.get(f"{base(w.a, 'contacts')}/export.csv", params={"q": "zed"}, headers=w.a_key)
    assert [row["id"] for row in rows_of(r.text)] == [plain["id"]]
    r = await c.get(
        base(w.a, "contacts"), params={"limit": 1, "sort": "name"}, headers={**w.a_key, "Accept": "text/csv"}
    )
    assert r.headers["content-type"].startswith("text/csv") and r.headers["X-Total-Count"] == "2"
    assert len(rows_of(r.text)) == 1
    r = await c.get(base(w.a, "contacts"), headers={**w.a_key, "Accept": "text/csv;q=0.5, application/json"})
    assert r.headers["content-type"].startswith("application/json")
    assert (await c.get(f"{base(w.a, 'contacts')}/export.csv", headers=w.a_ro)).status_code == 200
    assert (await c.get(f"{base(w.a, 'contacts')}/export.csv", headers=w.b_key)).status_code == 404
    # The export imports again (into another phonebook: the ids and speed dials in it are taken, so they are
    # reported, and nothing is saved until those columns are emptied).
    export = (await c.get(f"{base(w.a, 'contacts')}/export.csv", headers=w.a_key)).text
    copy = await book(w, w.a)
    r = await import_csv(w, w.a, copy["id"], export)
    assert r.status_code == 422
    # (line 3 holds a note of two lines: a line number is where the contact starts)
    assert [e["field"] for e in r.json()["errors"]] == ["lines.2.speed_dial", "lines.3.legacy_id"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows_of(export):
        writer.writerow({**row, "legacy_id": "", "speed_dial": ""})
    r = await import_csv(w, w.a, copy["id"], out.getvalue())
    assert r.status_code == 200 and r.json()["created"] == 2 and r.json()["ignored_columns"] == [], r.text
    r = await c.get(base(w.a, "contacts"), params={"phonebook_id": copy["id"], "q": "calc"}, headers=w.a_key)
    twin = r.json()["items"][0]
    assert twin["id"] != evil["id"]
    for name in ("first_name", "last_name", "company", "notes", "numbers", "emails", "tags"):
        assert twin[name] == evil[name], name


# ================================================================================================= end users
async def _end_user(w: World) -> tuple[tuple[str, str], dict[str, Any]]:
    ext = await w.api.extension(w.a["id"], w.a_key)
    username, password, user = await w.api.user(w.a["id"], "user", headers=w.a_key, extension_id=ext["id"])
    return (username, password), user


async def test_end_user_sees_company_phonebooks_and_only_their_own_personal_ones(world: World) -> None:
    w, c = world, world.client
    me, my_user = await _end_user(w)
    _, their_user = await _end_user(w)
    company = await book(w, w.a)
    theirs = await book(w, w.a, scope="personal", owner_user_id=their_user["id"])
    company_contact = await contact(w, w.a, company["id"], numbers=[{"number": "4155550150"}], speed_dial="44")
    secret = await contact(
        w, w.a, theirs["id"], first_name="Secret", last_name="Lover", numbers=[{"number": "4155550150"}]
    )
    # Creating: only personal phonebooks, always owned by the caller.
    url = base(w.a, "phonebooks")
    r = await c.post(url, json={"name": unique("B ")}, auth=me)
    assert r.status_code == 403
    r = await c.post(url, json={"name": unique("B "), "scope": "personal", "owner_user_id": their_user["id"]}, auth=me)
    assert r.status_code == 403
    mine = await book(w, w.a, auth=me, scope="personal")
    assert mine["owner_user_id"] == my_user["id"]
    r = await c.get(url, auth=me)
    assert {i["id"] for i in r.json()["items"]} == {company["id"], mine["id"]}
    assert (await c.get(f"{url}/{theirs['id']}", auth=me)).status_code == 404
    assert (await c.patch(f"{url}/{theirs['id']}", json={"description": "x"}, auth=me)).status_code == 404
    assert (await c.delete(f"{url}/{theirs['id']}", auth=me)).status_code == 404
    assert (await c.patch(f"{url}/{company['id']}", json={"description": "x"}, auth=me)).status_code == 403
    assert (await c.delete(f"{url}/{company['id']}", auth=me)).status_code == 403
    assert (await c.patch(f"{url}/{mine['id']}", json={"scope": "company"}, auth=me)).status_code == 403
    r = await c.patch(f"{url}/{mine['id']}", json={"owner_user_id": their_user["id"]}, auth=me)
    assert r.status_code == 403
    r = await c.patch(f"{url}/{mine['id']}", json={"description": "Friends"}, auth=me)
    assert r.status_code == 200 and r.json()["owner_user_id"] == my_user["id"]
    # Contacts: read company ones, write only in the own phonebook; others' personal contacts are invisible.
    curl = base(w.a, "contacts")
    assert await listed(w, w.a, auth=me) == [company_contact["id"]]
    assert await find(w, w.a, "4155550150", auth=me) == [company_contact["id"]]
    assert (await c.get(f"{curl}/{secret['id']}", auth=me)).status_code == 404
    assert (await c.patch(f"{curl}/{secret['id']}", json={"notes": "x"}, auth=me)).status_code == 404
    assert (await c.delete(f"{curl}/{secret['id']}", auth=me)).status_code == 404
    r = await c.get(f"{curl}/export.csv", auth=me)
    assert r.status_code == 200 and "Secret" not in r.text and company_contact["id"] in r.text
    assert (await c.get(curl, params={"phonebook_id": theirs["id"]}, auth=me)).json()["total"] == 0
    r = await c.post(curl, json={"phonebook_id": company["id"], "company": "X"}, auth=me)
    assert r.status_code == 403
    r = await c.post(curl, json={"phonebook_id": theirs["id"], "company": "X"}, auth=me)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    assert (await c.patch(f"{curl}/{company_contact['id']}", json={"notes": "x"}, auth=me)).status_code == 403
    assert (await c.delete(f"{curl}/{company_contact['id']}", auth=me)).status_code == 403
    friend = await contact(w, w.a, mine["id"], auth=me, numbers=[{"number": "4155550150"}])
    r = await c.patch(f"{curl}/{friend['id']}", json={"phonebook_id": company["id"]}, auth=me)
    assert r.status_code == 403
    r = await c.patch(f"{curl}/{friend['id']}", json={"phonebook_id": theirs["id"]}, auth=me)
    assert r.status_code == 422
    assert set(await find(w, w.a, "4155550150", auth=me)) == {company_contact["id"], friend["id"]}
    # A taken speed dial is refused without naming another user's personal contact.
    await c.patch(f"{curl}/{secret['id']}", json={"speed_dial": "45"}, headers=w.a_key)
    r = await c.patch(f"{curl}/{friend['id']}", json={"speed_dial": "45"}, auth=me)
    assert r.status_code == 409 and "Secret" not in r.text and "Lover" not in r.text
    # Import only into the own phonebook.
    r = await c.post(f"{url}/{company['id']}/import", content=b"company\nX\n", headers=CSV, auth=me)
    assert r.status_code == 403
    r = await c.post(f"{url}/{theirs['id']}/import", content=b"company\nX\n", headers=CSV, auth=me)
    assert r.status_code == 404
    r = await c.post(f"{url}/{mine['id']}/import", content=b"company\nInitech\n", headers=CSV, auth=me)
    assert r.status_code == 200 and r.json()["created"] == 1
    # The administrator sees everything; deleting the own phonebook takes its contacts along.
    assert secret["id"] in await listed(w, w.a)
    assert (await c.delete(f"{url}/{mine['id']}", auth=me)).status_code == 204
    assert (await c.get(f"{curl}/{friend['id']}", headers=w.a_key)).status_code == 404
    # Nothing of another tenant.
    assert (await c.get(base(w.b, "phonebooks"), auth=me)).status_code == 404


# ================================================================================================= template copies
async def test_template_copies_company_phonebooks_with_their_contacts_but_no_personal_ones(world: World) -> None:
    w, c = world, world.client
    template = await w.api.tenant(parent=w.reseller["id"], is_template=True)
    tkey = await w.api.key(template["id"])
    ext = await w.api.extension(template["id"], tkey)
    _, _, owner = await w.api.user(template["id"], "user", headers=tkey, extension_id=ext["id"])

    async def post(plural: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await c.post(f"/api/v1/tenants/{template['id']}/{plural}", json=body, headers=tkey)
        assert r.status_code == 201, r.text
        return dict(r.json())

    company = await post("phonebooks", {"name": "Emergency services"})
    personal = await post("phonebooks", {"name": "Mine", "scope": "personal", "owner_user_id": owner["id"]})
    kept = await post(
        "contacts", {"phonebook_id": company["id"], "company": "Poison control", "numbers": [{"number": "8002221222"}]}
    )
    await post("contacts", {"phonebook_id": personal["id"], "first_name": "Private", "speed_dial": "9"})
    plain = await w.api.tenant(parent=w.reseller["id"], template_id=template["id"])
    key = await w.api.key(plain["id"])
    assert (await c.get(base(plain, "phonebooks"), headers=key)).json()["total"] == 0  # optional: not by default
    full = await w.api.tenant(
        parent=w.reseller["id"], template_id=template["id"], copy_resources=["phonebooks", "contacts"]
    )
    key = await w.api.key(full["id"])
    books = (await c.get(base(full, "phonebooks"), headers=key)).json()["items"]
    assert [(b["name"], b["scope"], b["owner_user_id"]) for b in books] == [("Emergency services", "company", None)]
    contacts = (await c.get(base(full, "contacts"), headers=key)).json()["items"]
    assert [(x["company"], x["phonebook_id"], x["legacy_id"]) for x in contacts] == [
        ("Poison control", books[0]["id"], kept["legacy_id"])
    ]
    r = await c.get(f"{base(full, 'contacts')}/find", params={"number": "+1 800 222 1222"}, headers=key)
    assert [x["id"] for x in r.json()["items"]] == [contacts[0]["id"]] != [kept["id"]]


async def test_deleting_a_user_removes_their_personal_phonebooks_with_events(world: World) -> None:
    w, c = world, world.client
    _, user = await _end_user(w)
    books = f"/api/v1/tenants/{w.a['id']}/phonebooks"
    r = await c.post(
        books, json={"name": unique("Mine "), "scope": "personal", "owner_user_id": user["id"]}, headers=w.a_key
    )
    assert r.status_code == 201, r.text
    book = r.json()
    r = await c.post(
        f"/api/v1/tenants/{w.a['id']}/contacts",
        json={
            "phonebook_id": book["id"],
            "first_name": "Mum",
            "numbers": [{"type": "mobile", "number": "+14155550100"}],
        },
        headers=w.a_key,
    )
    assert r.status_code == 201, r.text
    contact = r.json()
    assert (await c.delete(f"/api/v1/tenants/{w.a['id']}/users/{user['id']}", headers=w.a_key)).status_code == 204
    assert (await c.get(f"{books}/{book['id']}", headers=w.a_key)).status_code == 404
    events = (await c.get(f"/api/v1/tenants/{w.a['id']}/events", params={"limit": 500}, headers=w.a_key)).json()
    gone = {(e["type"], e["resource_id"]) for e in events["items"]}
    assert {("phonebook.deleted", book["id"]), ("contact.deleted", contact["id"])} <= gone
