"""Generic tests for tenant-owned resources (NetBox style): a resource declares its data, inherits the checks.

A subclass sets ``plural`` and implements ``payload``/``update`` (and may list ``invalid`` payloads). It inherits:
CRUD round trip with ETag, list conventions (X-Total-Count, cursor, constant query count), bad input changing
nothing, unknown fields, the two-tenant checks for every verb, read-only keys, If-Match, Idempotency-Key,
audit entries and outbox events.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tests.api.harness import World


class TenantResourceTests:
    plural: ClassVar[str]
    resource: ClassVar[str]  # event/audit name, e.g. "extension"
    invalid: ClassVar[list[tuple[dict[str, Any], str]]] = []  # (changes to a valid payload, offending field)
    writer: ClassVar[str] = "tenant"  # whose key creates: "tenant" admin or "reseller" admin
    cached: ClassVar[bool] = True  # GET answers come from the response cache until a change

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        raise NotImplementedError

    def update(self) -> dict[str, Any]:
        raise NotImplementedError

    # ---------------------------------------------------------------- helpers
    def url(self, tenant: dict[str, Any], obj_id: str | None = None) -> str:
        base = f"/api/v1/tenants/{tenant['id']}/{self.plural}"
        return f"{base}/{obj_id}" if obj_id else base

    def writer_headers(self, w: World, tenant: dict[str, Any]) -> dict[str, str]:
        if self.writer == "reseller":
            return w.reseller_key
        return w.a_key if tenant is w.a else w.b_key

    async def create(self, w: World, tenant: dict[str, Any] | None = None) -> dict[str, Any]:
        tenant = tenant or w.a
        headers = self.writer_headers(w, tenant)
        body = await self.payload(w, tenant, headers)
        r = await w.client.post(self.url(tenant), json=body, headers=headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def total(self, w: World, tenant: dict[str, Any] | None = None) -> int:
        tenant = tenant or w.a
        r = await w.client.get(self.url(tenant), headers=self.writer_headers(w, tenant))
        assert r.status_code == 200, r.text
        return int(r.headers["X-Total-Count"])

    # ---------------------------------------------------------------- CRUD
    async def test_crud_round_trip(self, world: World) -> None:
        w = world
        headers = self.writer_headers(w, w.a)
        created = await self.create(w)
        r = await w.client.get(self.url(w.a, created["id"]), headers=headers)
        assert r.status_code == 200
        assert r.json()["id"] == created["id"]
        etag = r.headers["ETag"]
        r = await w.client.patch(self.url(w.a, created["id"]), json=self.update(), headers=headers)
        assert r.status_code == 200, r.text
        for key, value in self.update().items():
            if not isinstance(value, (dict, list)):
                assert r.json()[key] == value
        assert r.headers["ETag"] != etag
        r = await w.client.delete(self.url(w.a, created["id"]), headers=headers)
        assert r.status_code == 204, r.text
        r = await w.client.get(self.url(w.a, created["id"]), headers=headers)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")

    async def test_list_total_cursor_and_constant_queries(self, world: World) -> None:
        w = world
        headers = self.writer_headers(w, w.a)
        before = await self.total(w)
        made = [await self.create(w) for _ in range(3)]
        r = await w.client.get(self.url(w.a), params={"limit": 2}, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert int(r.headers["X-Total-Count"]) == before + 3 == page["total"]
        assert len(page["items"]) == 2 and page["next_cursor"]
        seen = [i["id"] for i in page["items"]]
        while page["next_cursor"]:
            r = await w.client.get(self.url(w.a), params={"limit": 2, "cursor": page["next_cursor"]}, headers=headers)
            assert r.status_code == 200, r.text
            page = r.json()
            seen += [i["id"] for i in page["items"]]
        assert len(seen) == len(set(seen)) == before + 3
        assert {m["id"] for m in made} <= set(seen)
        r = await w.client.get(self.url(w.a), params={"limit": 501}, headers=headers)
        assert r.status_code == 422
        # The same number of SQL statements whatever the page size (each URL is new, so nothing is cached).
        await w.client.get(self.url(w.a), params={"limit": 1}, headers=headers)  # warm the credential caches
        with w.api.count_queries() as small:
            await w.client.get(self.url(w.a), params={"limit": 1, "offset": 1}, headers=headers)
        with w.api.count_queries() as large:
            await w.client.get(self.url(w.a), params={"limit": 100, "offset": 1}, headers=headers)
        assert small.count == large.count <= 2, large.statements

    async def test_answers_are_cached_until_a_change(self, world: World) -> None:
        w = world
        headers = self.writer_headers(w, w.a)
        obj = await self.create(w)
        first = await w.client.get(self.url(w.a), headers=headers)
        with w.api.count_queries() as again:
            second = await w.client.get(self.url(w.a), headers=headers)
        if not self.cached:
            assert again.count > 0
            return
        assert second.json() == first.json()
        assert again.count == 0
        r = await w.client.patch(self.url(w.a, obj["id"]), json=self.update(), headers=headers)
        assert r.status_code == 200
        after = await w.client.get(self.url(w.a, obj["id"]), headers=headers)
        assert after.json()["updated_at"] == r.json()["updated_at"]
        listed = await w.client.get(self.url(w.a), headers=headers)
        assert r.json() in listed.json()["items"]
        # Another credential gets its own answer (and another tenant still a 404).
        assert (await w.client.get(self.url(w.a, obj["id"]), headers=w.b_key)).status_code == 404

    # ---------------------------------------------------------------- bad input
    async def test_invalid_input_is_422_and_changes_nothing(self, world: World) -> None:
        w = world
        headers = self.writer_headers(w, w.a)
        before = await self.total(w)
        valid = await self.payload(w, w.a, headers)
        cases = [*self.invalid, ({"not_a_field": 1}, "not_a_field")]
        for changes, field in cases:
            r = await w.client.post(self.url(w.a), json={**valid, **changes}, headers=headers)
            assert r.status_code == 422, (changes, r.text)
            problem = r.json()
            assert problem["code"] in ("validation_error", "invalid_reference")
            assert problem["request_id"]
            assert any(e["field"].startswith(field) for e in problem["errors"]), (field, problem)
        r = await w.client.post(
            self.url(w.a), content=b'{"broken"', headers={**headers, "content-type": "application/json"}
        )
        assert r.status_code == 400 and r.json()["code"] == "malformed_json"
        r = await w.client.post(self.url(w.a), json=[1, 2], headers=headers)
        assert r.status_code == 422
        assert await self.total(w) == before

    # ---------------------------------------------------------------- two tenants
    async def test_other_tenants_objects_are_404_for_every_verb(self, world: World) -> None:
        w = world
        obj = await self.create(w, w.a)
        b_headers = w.b_key
        for method, url, body in [
            ("GET", self.url(w.a, obj["id"]), None),
            ("PATCH", self.url(w.a, obj["id"]), self.update()),
            ("DELETE", self.url(w.a, obj["id"]), None),
            ("GET", self.url(w.a), None),
            ("POST", self.url(w.a), await self.payload(w, w.a, self.writer_headers(w, w.a))),
            # Tenant A's object through tenant B's own path is not there either.
            ("GET", self.url(w.b, obj["id"]), None),
            ("PATCH", self.url(w.b, obj["id"]), self.update()),
            ("DELETE", self.url(w.b, obj["id"]), None),
        ]:
            r = await w.client.request(method, url, json=body, headers=b_headers)
            if self.writer == "reseller" and method in ("PATCH", "DELETE") and url.startswith(self.url(w.b)):
                assert r.status_code in (403, 404), (method, url, r.text)
            else:
                assert r.status_code == 404, (method, url, r.status_code, r.text)
        r = await w.client.get(self.url(w.a, obj["id"]), headers=self.writer_headers(w, w.a))
        assert r.status_code == 200 and r.json()["updated_at"] == obj["updated_at"]  # untouched

    async def test_read_only_key_cannot_write(self, world: World) -> None:
        w = world
        obj = await self.create(w, w.a)
        ro = w.a_ro
        r = await w.client.get(self.url(w.a, obj["id"]), headers=ro)
        assert r.status_code == 200
        body = await self.payload(w, w.a, self.writer_headers(w, w.a))
        for method, url, payload in [
            ("POST", self.url(w.a), body),
            ("PATCH", self.url(w.a, obj["id"]), self.update()),
            ("DELETE", self.url(w.a, obj["id"]), None),
        ]:
            r = await w.client.request(method, url, json=payload, headers=ro)
            assert r.status_code == 403, (method, r.text)
            assert r.json()["code"] == "forbidden"

    # ---------------------------------------------------------------- concurrency, idempotency, audit
    async def test_if_match(self, world: World) -> None:
        w = world
        headers = self.writer_headers(w, w.a)
        obj = await self.create(w)
        r = await w.client.get(self.url(w.a, obj["id"]), headers=headers)
        etag = r.headers["ETag"]
        r = await w.client.patch(self.url(w.a, obj["id"]), json=self.update(), headers={**headers, "If-Match": '"999"'})
        assert r.status_code == 412 and r.json()["code"] == "precondition_failed"
        r = await w.client.patch(self.url(w.a, obj["id"]), json=self.update(), headers={**headers, "If-Match": etag})
        assert r.status_code == 200, r.text

    async def test_idempotency_key(self, world: World) -> None:
        w = world
        headers = self.writer_headers(w, w.a)
        before = await self.total(w)
        body = await self.payload(w, w.a, headers)
        h = {**headers, "Idempotency-Key": f"idem-{self.plural}-{before}-{id(body)}"}
        first = await w.client.post(self.url(w.a), json=body, headers=h)
        assert first.status_code == 201, first.text
        again = await w.client.post(self.url(w.a), json=body, headers=h)
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers.get("Idempotent-Replayed") == "true"
        other = await w.client.post(self.url(w.a), json={**body, "zzz": 1}, headers=h)
        assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
        r = await w.client.post(self.url(w.a), json=body, headers={**headers, "Idempotency-Key": "bad key!"})
        assert r.status_code == 422
        assert await self.total(w) == before + 1

    async def test_changes_are_audited_and_evented(self, world: World) -> None:
        w = world
        headers = self.writer_headers(w, w.a)
        obj = await self.create(w)
        await w.client.patch(self.url(w.a, obj["id"]), json=self.update(), headers=headers)
        r = await w.client.get(
            f"/api/v1/tenants/{w.a['id']}/audit-log", params={"resource_id": obj["id"]}, headers=w.a_key
        )
        assert r.status_code == 200
        actions = [e["action"] for e in r.json()["items"]]
        assert actions[-2:] == ["update", "create"] or actions[:2] == ["update", "create"]
        entry = next(e for e in r.json()["items"] if e["action"] == "update")
        assert entry["before"] and entry["after"] and entry["actor"].startswith("api_key:")
        r = await w.client.get(
            f"/api/v1/tenants/{w.a['id']}/events", params={"resource_id": obj["id"]}, headers=w.a_key
        )
        types = [e["type"] for e in r.json()["items"]]
        assert types[:2] == [f"{self.resource}.created", f"{self.resource}.updated"]
