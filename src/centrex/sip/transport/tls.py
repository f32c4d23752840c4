"""SIP over TLS (RFC 3261 §26.2, port 5061): ``TlsListener`` (TCP framing over an ``ssl.SSLContext``), the server
context (``server_context``) and the self-signed certificate made once into the data directory when no certificate
is configured (``ensure_self_signed``).

The listener serves the ``tls`` transport only; requests to a phone go over the connection it registered on (there
is no dialling out: a phone without an open connection cannot be reached until it registers again). Clients are not
asked for certificates (phones authenticate with digest)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import logging
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from centrex.sip.transport.base import Handler
from centrex.sip.transport.listener import Listener

log = logging.getLogger("centrex.sip.transport")
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
CERT_DAYS = 3650
HANDSHAKE_SECONDS = 10.0


class TlsError(Exception):
    """A certificate or key that cannot be read or used."""


def ensure_self_signed(directory: Path, names: list[str]) -> tuple[Path, Path]:
    """(cert, key) paths of a self-signed certificate under ``directory``: reused when present, else made now
    (RSA 2048, SHA-256, ten years; subject alternative names: ``names`` (DNS names and IPs), plus ``localhost`` and
    127.0.0.1). The key is written readable by the owner only."""
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    alt: list[x509.GeneralName] = []
    seen: set[str] = set()
    for name in [*names, "localhost", "127.0.0.1"]:
        name = name.strip("[]")
        if not name or name in seen or name in ("0.0.0.0", "::"):  # noqa: S104 (compared, not bound)
            continue
        seen.add(name)
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    common = next((n.value for n in alt if isinstance(n, x509.DNSName)), "centrex")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(common))])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp_key = key_path.with_suffix(".tmp")
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_bytes)
    os.replace(tmp_key, key_path)
    tmp_cert = cert_path.with_suffix(".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp_cert, cert_path)
    log.info("made a self-signed SIP TLS certificate in %s", directory)
    return cert_path, key_path


def server_context(cert: Path | str, key: Path | str | None) -> ssl.SSLContext:
    """A TLS 1.2+ server context for ``cert`` (PEM chain) and ``key`` (None: the key is in the cert file)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key) if key is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"cannot load the TLS certificate {cert} / key {key}: {exc}") from exc
    return context


class TlsListener(Listener):
    """SIP over TLS on HOST:PORT (port 0: an ephemeral port, known after ``start``)."""

    transports = ("tls",)

    def __init__(
        self, host: str, port: int, handler: Handler, context: ssl.SSLContext, *, max_pending: int = 500
    ) -> None:
        super().__init__(host, port, handler, max_pending=max_pending)
        self.context = context
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_tls,
            self.host,
            self.port,
            ssl=self.context,
            ssl_handshake_timeout=HANDSHAKE_SECONDS,
            limit=1 << 16,
        )
        if self.port == 0 and self._server.sockets:
            self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._close_streams()
        await self._cancel_tasks()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None

    async def _serve_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve_stream(reader, writer, "tls")
