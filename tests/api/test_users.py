"""Users: generic checks plus role rules and password handling."""

from __future__ import annotations

from typing import Any

from tests.api.harness import ADMIN, World, unique
from tests.api.mixins import TenantResourceTests


class TestUsers(TenantResourceTests):
    plural = "users"
    resource = "user"
    invalid = [
        ({"username": "a"}, "username"),
        ({"role": "emperor"}, "role"),
        ({"password": "short1"}, "password"),
        ({"password": "onlyletterslong"}, "password"),
        ({"role": "reseller_admin"}, "role"),
        ({"role": "user"}, "extension_id"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {
            "username": unique("u"),
            "role": "tenant_admin",
            "password": "Correct-horse-42",
            "name": "Bob",
        }

    def update(self) -> dict[str, Any]:
        return {"name": "Robert", "email": "bob@example.com"}


async def test_generated_password_is_shown_once_and_works(world: World) -> None:
    w, c = world, world.client
    r = await c.post(
        f"/api/v1/tenants/{w.a['id']}/users",
        json={"username": unique("g"), "role": "tenant_admin"},
        headers=w.a_key,
    )
    assert r.status_code == 201
    user = r.json()
    assert user["password"] and "password_hash" not in user
    me = await c.get("/api/v1/auth/me", auth=(user["username"], user["password"]))
    assert me.status_code == 200 and me.json()["role"] == "tenant_admin"
    again = await c.get(f"/api/v1/tenants/{w.a['id']}/users/{user['id']}", headers=w.a_key)
    assert "password" not in again.json()


async def test_roles_never_escalate(world: World) -> None:
    w, c = world, world.client
    # A reseller holds only reseller admins; a tenant admin cannot mint one anyway.
    r = await c.post(
        f"/api/v1/tenants/{w.reseller['id']}/users",
        headers=w.reseller_key,
        json={"username": unique("r"), "role": "tenant_admin", "password": "Correct-horse-42"},
    )
    assert r.status_code == 422
    r = await c.post(
        f"/api/v1/tenants/{w.reseller['id']}/users",
        headers=w.reseller_key,
        json={"username": unique("r"), "role": "reseller_admin", "password": "Correct-horse-42"},
    )
    assert r.status_code == 201
    # An end user cannot act as an administrator.
    ext = await w.api.extension(w.a["id"], w.a_key)
    name, pw, _ = await w.api.user(w.a["id"], "user", headers=w.a_key, extension_id=ext["id"])
    r = await c.post(
        f"/api/v1/tenants/{w.a['id']}/users",
        auth=(name, pw),
        json={"username": unique("x"), "role": "tenant_admin", "password": "Correct-horse-42"},
    )
    assert r.status_code == 403


async def test_username_is_unique_on_the_platform(world: World) -> None:
    w, c = world, world.client
    name = unique("same")
    body = {"username": name, "role": "tenant_admin", "password": "Correct-horse-42"}
    assert (await c.post(f"/api/v1/tenants/{w.a['id']}/users", json=body, headers=w.a_key)).status_code == 201
    r = await c.post(f"/api/v1/tenants/{w.b['id']}/users", json={**body, "username": name.upper()}, headers=w.b_key)
    assert r.status_code == 409


async def test_admin_resets_password_and_user_changes_own(world: World) -> None:
    w, c = world, world.client
    name, pw, user = await w.api.user(w.a["id"], "tenant_admin", headers=w.a_key)
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/users/{user['id']}/password", json={}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["password"]
    new = r.json()["password"]
    assert (await c.get("/api/v1/auth/me", auth=(name, pw))).status_code == 401
    assert (await c.get("/api/v1/auth/me", auth=(name, new))).status_code == 200
    r = await c.post(
        "/api/v1/auth/password",
        auth=(name, new),
        json={"current_password": "wrong", "new_password": "Another-pass-77"},
    )
    assert r.status_code == 422
    r = await c.post(
        "/api/v1/auth/password",
        auth=(name, new),
        json={"current_password": new, "new_password": "Another-pass-77"},
    )
    assert r.status_code == 204
    assert (await c.get("/api/v1/auth/me", auth=(name, "Another-pass-77"))).status_code == 200
    assert (await c.get("/api/v1/auth/me", auth=ADMIN)).status_code == 200
