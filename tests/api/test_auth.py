"""Authentication: Basic, API keys (header and Bearer), sessions with CSRF, failed-login throttling."""

from __future__ import annotations

import base64

from tests.api.harness import ADMIN, Harness, World


async def test_every_api_route_needs_credentials(api: Harness) -> None:
    for path in ("/api/v1/tenants", "/api/v1/auth/me", "/api/v1/audit-log"):
        r = await api.client.get(path)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
        assert r.headers["WWW-Authenticate"].startswith("Basic")
    assert (await api.client.get("/healthz")).status_code == 200


async def test_credential_styles(world: World) -> None:
    w, c = world, world.client
    key = w.a_key["X-API-Key"]
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        r = await c.get("/api/v1/auth/me", headers=headers)
        assert r.status_code == 200 and r.json()["kind"] == "api_key" and r.json()["tenant_id"] == w.a["id"]
        assert "extensions.create" in r.json()["permissions"]
    ro = (await c.get("/api/v1/auth/me", headers=w.a_ro)).json()
    assert ro["read_only"] and all(p.endswith(".read") or p.startswith("auth.") for p in ro["permissions"])
    assert (await c.get("/api/v1/auth/me", headers={"X-API-Key": "cx_nope"})).status_code == 401
    assert (await c.get("/api/v1/auth/me", headers={"Authorization": "Digest abc"})).status_code == 401
    bad_basic = {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}
    assert (await c.get("/api/v1/auth/me", headers=bad_basic)).status_code == 401
    assert (await c.get("/api/v1/auth/me", headers={"Authorization": "Basic %%%"})).status_code == 401


async def test_session_cookie_login_csrf_logout(world: World) -> None:
    w, c = world, world.client
    name, password, _ = await w.api.user(w.a["id"], "tenant_admin", headers=w.a_key)
    r = await c.post("/api/v1/auth/login", json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf_token"]
    cookie = {"Cookie": f"centrex_session={r.cookies['centrex_session']}"}
    assert "httponly" in r.headers.get_list("set-cookie")[0].lower()
    c.cookies.clear()
    me = await c.get("/api/v1/auth/me", headers=cookie)
    assert me.status_code == 200 and me.json()["kind"] == "session"
    url = f"/api/v1/tenants/{w.a['id']}/extensions"
    body = {"number": "601", "name": "Cookie"}
    r = await c.post(url, json=body, headers=cookie)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = await c.post(url, json=body, headers={**cookie, "X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = await c.post(url, json=body, headers={**cookie, "X-CSRF-Token": csrf})
    assert r.status_code == 201
    r = await c.post("/api/v1/auth/logout", headers={**cookie, "X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert (await c.get("/api/v1/auth/me", headers=cookie)).status_code == 401
    c.cookies.clear()


async def test_failed_logins_are_throttled_but_not_forever(world: World) -> None:
    w, c = world, world.client
    name, password, _ = await w.api.user(w.a["id"], "tenant_admin", headers=w.a_key)
    guard = w.api.state.login_guard
    now = [1000.0]
    saved = guard.clock
    guard.clock = lambda: now[0]
    try:
        for _ in range(guard.max_failures):
            r = await c.post("/api/v1/auth/login", json={"username": name, "password": "wrong"})
            assert r.status_code == 401
        r = await c.post("/api/v1/auth/login", json={"username": name, "password": password})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        r = await c.get("/api/v1/auth/me", auth=(name, password))
        assert r.status_code == 429
        now[0] += guard.lock_seconds + 1
        r = await c.post("/api/v1/auth/login", json={"username": name, "password": password})
        assert r.status_code == 200
        c.cookies.clear()
    finally:
        guard.clock = saved
        guard.succeeded(name, "10.1.2.3")


async def test_unknown_user_and_disabled_user_are_refused(world: World) -> None:
    w, c = world, world.client
    assert (await c.get("/api/v1/auth/me", auth=("nobody-here", "Whatever-123"))).status_code == 401
    name, password, user = await w.api.user(w.a["id"], "tenant_admin", headers=w.a_key)
    assert (await c.get("/api/v1/auth/me", auth=(name, password))).status_code == 200
    r = await c.patch(f"/api/v1/tenants/{w.a['id']}/users/{user['id']}", json={"enabled": False}, headers=w.a_key)
    assert r.status_code == 200
    assert (await c.get("/api/v1/auth/me", auth=(name, password))).status_code == 401
    assert (await c.get("/api/v1/auth/me", auth=ADMIN)).status_code == 200


async def test_login_with_idempotency_key_needs_one_connection(world: World) -> None:
    w, c = world, world.client
    name, password, _ = await w.api.user(w.a["id"], "tenant_admin", headers=w.a_key)
    r = await c.post(
        "/api/v1/auth/login", json={"username": name, "password": password}, headers={"Idempotency-Key": "login-once"}
    )
    assert r.status_code == 200
    c.cookies.clear()
