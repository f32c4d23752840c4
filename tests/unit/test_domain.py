"""Pure domain code: ids, E.164, tenancy and permissions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centrex.domain import e164
from centrex.domain.ids import looks_like_id, new_id
from centrex.domain.tenancy import (
    DestinationClass,
    OutboundLevel,
    Principal,
    Role,
    TenantKind,
    may_dial,
    outranks,
    role_allows,
    roles_for_kind,
)


def test_ids_are_prefixed_unique_and_time_sorted() -> None:
    a = new_id("ext", now_ms=1_000)
    b = new_id("ext", now_ms=2_000)
    assert a < b and looks_like_id(a, "ext") and not looks_like_id(a, "ten")
    assert len({new_id("ext") for _ in range(1000)}) == 1000
    assert not looks_like_id("ext_UPPER")


@given(st.integers(min_value=0, max_value=2**48 - 1), st.integers(min_value=0, max_value=2**48 - 1))
def test_id_order_follows_time(t1: int, t2: int) -> None:
    if t1 < t2:
        assert new_id("x1", now_ms=t1) < new_id("x1", now_ms=t2)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(212) 555-1234", "+12125551234"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("2125551234", "+12125551234"),
    ],
)
def test_e164_normalises(raw: str, expected: str) -> None:
    assert e164.normalize(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "123", "+1 000 000 0000", "9" * 40])
def test_e164_rejects(raw: str) -> None:
    with pytest.raises(e164.InvalidNumber):
        e164.normalize(raw)


@given(st.text(max_size=40))
def test_e164_never_crashes(raw: str) -> None:
    try:
        out = e164.normalize(raw)
    except e164.InvalidNumber:
        return
    assert out.startswith("+") and out[1:].isdigit()


def test_roles_and_permissions() -> None:
    assert role_allows(Role.PLATFORM_ADMIN, "platform.settings")
    assert not role_allows(Role.RESELLER_ADMIN, "platform.settings")
    assert role_allows(Role.RESELLER_ADMIN, "tenants.create")
    assert not role_allows(Role.TENANT_ADMIN, "tenants.create")
    assert role_allows(Role.TENANT_ADMIN, "extensions.delete")
    assert not role_allows(Role.TENANT_ADMIN, "numbers.create")
    assert role_allows(Role.USER, "extensions.update") and not role_allows(Role.USER, "users.read")
    assert not role_allows(Role.TENANT_ADMIN, "extensions.create", read_only=True)
    assert role_allows(Role.TENANT_ADMIN, "extensions.read", read_only=True)
    assert outranks(Role.TENANT_ADMIN, Role.USER) and not outranks(Role.TENANT_ADMIN, Role.RESELLER_ADMIN)
    assert roles_for_kind(TenantKind.RESELLER) == {Role.RESELLER_ADMIN}


def test_subtree_visibility() -> None:
    reseller = Principal("api_key", "k", "k", Role.RESELLER_ADMIN, "r", "/p/r/")
    assert reseller.sees_path("/p/r/") and reseller.sees_path("/p/r/t/") and not reseller.sees_path("/p/x/")
    admin = Principal("api_key", "k", "k", Role.TENANT_ADMIN, "t", "/p/r/t/")
    assert admin.sees_path("/p/r/t/") and not admin.sees_path("/p/r/")


def test_emergency_is_always_dialable() -> None:
    none: frozenset[DestinationClass] = frozenset()
    assert may_dial(DestinationClass.EMERGENCY, OutboundLevel.INTERNAL, none)
    assert not may_dial(DestinationClass.NATIONAL, OutboundLevel.INTERNAL, frozenset(DestinationClass))
    assert may_dial(DestinationClass.NATIONAL, OutboundLevel.NATIONAL, frozenset({DestinationClass.NATIONAL}))
    assert not may_dial(DestinationClass.PREMIUM, OutboundLevel.INTERNATIONAL, frozenset(DestinationClass))
