"""Devices: generic checks plus MAC normalisation/uniqueness and line-key references."""

from __future__ import annotations

import secrets
from typing import Any

from tests.api.harness import World
from tests.api.mixins import TenantResourceTests


def mac() -> str:
    raw = secrets.token_hex(6)
    return ":".join(raw[i : i + 2] for i in range(0, 12, 2)).upper()


class TestDevices(TenantResourceTests):
    plural = "devices"
    resource = "device"
    invalid = [
        ({"mac": "zz:zz"}, "mac"),
        ({"model": ""}, "model"),
        ({"line_keys": [{"index": 1, "type": "blf"}]}, "line_keys"),
        ({"line_keys": [{"index": 1, "type": "line"}, {"index": 1, "type": "line"}]}, "line_keys"),
        ({"extension_id": "ext_doesnotexist"}, "extension_id"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        ext = await w.api.extension(tenant["id"], w.a_key if tenant is w.a else w.b_key)
        return {
            "mac": mac(),
            "model": "Yealink T54W",
            "extension_id": ext["id"],
            "line_keys": [
                {"index": 1, "type": "line", "label": "Line"},
                {"index": 2, "type": "blf", "extension_id": ext["id"], "label": "Me"},
            ],
        }

    def update(self) -> dict[str, Any]:
        return {"name": "Front desk", "enabled": False}


async def test_mac_is_normalised_and_unique_on_the_platform(world: World) -> None:
    w, c = world, world.client
    m = mac()
    r = await c.post(
        f"/api/v1/tenants/{w.a['id']}/devices",
        json={"mac": m.replace(":", "-"), "model": "X"},
        headers=w.a_key,
    )
    assert r.status_code == 201 and r.json()["mac"] == m.replace(":", "").lower()
    r = await c.post(f"/api/v1/tenants/{w.b['id']}/devices", json={"mac": m, "model": "X"}, headers=w.b_key)
    assert r.status_code == 409


async def test_line_key_cannot_watch_another_tenants_extension(world: World) -> None:
    w, c = world, world.client
    foreign = await w.api.extension(w.b["id"], w.b_key)
    r = await c.post(
        f"/api/v1/tenants/{w.a['id']}/devices",
        headers=w.a_key,
        json={
            "mac": mac(),
            "model": "X",
            "line_keys": [{"index": 3, "type": "blf", "extension_id": foreign["id"]}],
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
