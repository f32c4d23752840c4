"""Trunks as the B2BUA sees them: which trunk an INVITE comes from, which tenant owns the dialled number, where an
outbound INVITE goes and with which credentials.

- **Inbound**: an INVITE may be from a trunk when its source IP is in an IP trunk's ``allowed_ips`` or is an
  address of a trunk's ``host`` (registration trunks: the carrier sends from its proxy). It is taken as a trunk call,
  without a challenge (carriers authenticate by address), only when the dialled number (Request-URI user, else the
  To user, normalised to E.164) is a number of that trunk's tenant or, for a shared trunk, of a tenant below its
  owner. Anything else from such an address is handled like any other INVITE: digest-challenged as an extension.
- **Outbound**: the trunk's host is resolved (a name or an IP); credentials (username, decrypted password) are read
  only when the carrier challenges.

The index of trunk addresses is rebuilt from the database at most every ``TTL`` seconds (and on a miss no sooner), so
a trunk added or changed through the API takes effect within that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from centrex.db.engine import Database
from centrex.db.models.number import PhoneNumber
from centrex.db.models.routing import Trunk
from centrex.db.models.tenant import Tenant
from centrex.domain.e164 import InvalidNumber, normalize
from centrex.security.secrets import default_box
from centrex.sip.transport import Source

log = logging.getLogger("centrex.engine.trunks")
TTL = 2.0


@dataclass(frozen=True)
class TrunkInfo:
    id: str
    tenant_id: str
    tenant_path: str
    shared: bool
    kind: str
    host: str
    port: int
    transport: str
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    addresses: frozenset[str]


@dataclass
class TrunkIndex:
    db: Database
    _trunks: list[TrunkInfo] = field(default_factory=list)
    _loaded: float = -1e9
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded < TTL:
                return
            async with self.db.session() as session:
                rows = (
                    await session.execute(
                        select(
                            Trunk.id,
                            Trunk.tenant_id,
                            Trunk.shared,
                            Trunk.kind,
                            Trunk.host,
                            Trunk.port,
                            Trunk.transport,
                            Trunk.allowed_ips,
                            Tenant.path,
                        )
                        .join(Tenant, Tenant.id == Trunk.tenant_id)
                        .where(Trunk.enabled.is_(True))
                    )
                ).all()
            trunks = []
            for row in rows:
                networks = []
                for cidr in row.allowed_ips or []:
                    with contextlib.suppress(ValueError):
                        networks.append(ipaddress.ip_network(str(cidr), strict=False))
                addresses = frozenset(await resolve_all(row.host, row.port))
                trunks.append(
                    TrunkInfo(
                        row.id,
                        row.tenant_id,
                        row.path,
                        bool(row.shared),
                        row.kind,
                        row.host,
                        int(row.port),
                        row.transport or "udp",
                        tuple(networks),
                        addresses,
                    )
                )
            self._trunks = trunks
            self._loaded = time.monotonic()

    async def match(self, ip: str, port: int) -> list[TrunkInfo]:
        """The enabled trunks the source ``ip``:``port`` may be: IP trunks whose allowed networks hold ``ip``,
        then trunks whose host resolves to ``ip`` (over UDP also with the trunk's port: a carrier's proxy sends
        from its SIP port, and a phone on the same host as a lab carrier must not pass for it)."""
        await self._refresh()
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return []
        found = [t for t in self._trunks if any(addr in net for net in t.networks)]
        found += [
            t for t in self._trunks if t not in found and ip in t.addresses and (t.transport != "udp" or t.port == port)
        ]
        return found

    async def number_owner(self, trunk: TrunkInfo, dialled: str) -> tuple[str, str] | None:
        """(tenant id, E.164) of the number ``dialled`` when the trunk may deliver it: the number belongs to the
        trunk's tenant, or (shared trunk) to a tenant below the trunk's owner."""
        e164 = did_of(dialled)
        if e164 is None:
            return None
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(PhoneNumber.tenant_id, Tenant.path)
                    .join(Tenant, Tenant.id == PhoneNumber.tenant_id)
                    .where(PhoneNumber.number == e164)
                )
            ).one_or_none()
        if row is None:
            return None
        if row.tenant_id == trunk.tenant_id or (trunk.shared and str(row.path).startswith(trunk.tenant_path)):
            return row.tenant_id, e164
        return None


def did_of(dialled: str) -> str | None:
    """The E.164 form of a number as carriers send it (``+15551234567``, ``15551234567``, ``5551234567``)."""
    text = dialled.strip()
    if not text or not all(c.isdigit() or c == "+" for c in text):
        return None
    try:
        return normalize(text if text.startswith("+") or len(text) <= 10 else "+" + text)
    except InvalidNumber:
        return None


async def resolve_all(host: str, port: int) -> list[str]:
    """Every IP address of ``host`` (itself when it is one); [] when it does not resolve."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError:
        log.warning("trunk host %s does not resolve", host)
        return []
    return sorted({str(info[4][0]) for info in infos})


async def destination(host: str, port: int, transport: str) -> Source | None:
    """Where an INVITE to a trunk goes (first address of its host), None when the host does not resolve."""
    addresses = await resolve_all(host, port)
    if not addresses:
        return None
    return Source(transport or "udp", addresses[0], int(port or 5060))


async def credentials(db: Database, trunk_id: str) -> tuple[str, str] | None:
    """(auth username, password) of a trunk, None without a stored password."""
    async with db.session() as session:
        row = (
            await session.execute(
                select(Trunk.username, Trunk.auth_username, Trunk.password_enc).where(Trunk.id == trunk_id)
            )
        ).one_or_none()
    if row is None or row.password_enc is None:
        return None
    try:
        password = default_box().decrypt(row.password_enc)
    except Exception:
        log.error("trunk %s: stored password cannot be decrypted", trunk_id)
        return None
    return str(row.auth_username or row.username or ""), password
