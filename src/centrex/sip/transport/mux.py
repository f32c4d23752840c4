"""``TransportSet``: the engine's listeners by transport name (``udp``/``tcp`` on the main ``SipListener``, ``tls``,
``ws``, ``wss`` on their own), so that a message for a ``Source`` leaves through the listener of its transport; and
``open_transports``, which starts the TLS and WebSocket listeners a ``TransportConfig`` asks for (each one that
cannot start is logged and reported, the others and UDP/TCP keep running)."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from centrex.sip.message import Request, Response
from centrex.sip.transport.base import Handler, Source
from centrex.sip.transport.listener import Listener, SipListener
from centrex.sip.transport.tls import TlsError, TlsListener, ensure_self_signed, server_context
from centrex.sip.transport.ws import WsListener

log = logging.getLogger("centrex.sip.transport")


class TransportSet:
    """Routes outgoing messages by ``Source.transport``; ``main`` serves UDP and TCP."""

    def __init__(self, main: SipListener) -> None:
        self.main = main
        self._by_name: dict[str, Listener] = dict.fromkeys(main.transports, main)
        self._extra: list[Listener] = []

    def add(self, listener: Listener) -> None:
        """Serve ``listener``'s transports through it (a started listener)."""
        self._extra.append(listener)
        for name in listener.transports:
            self._by_name[name] = listener

    def listener(self, transport: str) -> Listener | None:
        return self._by_name.get(transport)

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    def send(self, response: Response, source: Source) -> bool:
        """A response to the request that came from ``source`` (§18.2.2), through the listener it came in on."""
        listener = self._by_name.get(source.transport)
        return listener.send(response, source) if listener is not None else False

    def send_to(self, message: Request | Response | bytes, dest: Source) -> bool:
        """The engine's own message to ``dest`` (its open connection for tls/ws/wss/tcp); False when unreachable."""
        listener = self._by_name.get(dest.transport)
        return listener.send_to(message, dest) if listener is not None else False

    async def stop_extra(self) -> None:
        """Stop the listeners added with ``add`` (the main one is the server's to stop)."""
        for listener in self._extra:
            try:
                await listener.stop()
            except Exception:
                log.exception("could not stop the %s listener", "/".join(listener.transports))
        for listener in self._extra:
            for name in listener.transports:
                if self._by_name.get(name) is listener:
                    del self._by_name[name]
        self._extra.clear()


@dataclass(frozen=True)
class TransportConfig:
    """Which TLS/WebSocket listeners to open (None: not that one) and the certificate for TLS and WSS: ``cert`` and
    ``key`` files, or (``cert`` None) a self-signed one made once under ``cert_dir``."""

    tls: tuple[str, int] | None = None
    ws: tuple[str, int] | None = None
    wss: tuple[str, int] | None = None
    cert: str | None = None
    key: str | None = None
    cert_dir: Path | None = None

    def context(self) -> ssl.SSLContext:
        """The server TLS context (``TlsError`` when the certificate cannot be had)."""
        if self.cert is not None:
            return server_context(self.cert, self.key)
        if self.cert_dir is None:
            raise TlsError("no TLS certificate configured and no directory to make a self-signed one in")
        names = [hostport[0] for hostport in (self.tls, self.wss) if hostport is not None]
        try:
            cert, key = ensure_self_signed(self.cert_dir, names)
        except (OSError, ValueError) as exc:
            raise TlsError(f"cannot make a self-signed certificate in {self.cert_dir}: {exc}") from exc
        return server_context(cert, key)


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def open_transports(transports: TransportSet, handler: Handler, config: TransportConfig) -> list[str]:
    """Start the configured TLS/WS/WSS listeners and add them to ``transports``; one banner phrase per listener
    (``tls 127.0.0.1:5061`` or ``tls NOT started (reason)``). Failures are logged, never raised."""
    phrases: list[str] = []
    context: ssl.SSLContext | None = None
    context_error: str | None = None
    if config.tls is not None or config.wss is not None:
        try:
            context = config.context()
        except TlsError as exc:
            context_error = str(exc)
            log.error("SIP TLS and WSS not started: %s", exc)
    wanted: list[tuple[str, tuple[str, int] | None]] = [("tls", config.tls), ("ws", config.ws), ("wss", config.wss)]
    for name, hostport in wanted:
        if hostport is None:
            continue
        host, port = hostport
        listener: Listener
        if name == "ws":
            listener = WsListener(host, port, handler)
        elif context is None:
            phrases.append(f"{name} NOT started ({context_error})")
            continue
        elif name == "tls":
            listener = TlsListener(host, port, handler, context)
        else:
            listener = WsListener(host, port, handler, context)
        try:
            await listener.start()
        except OSError as exc:
            log.error("SIP %s not started: cannot listen on %s: %s", name, _where(host, port), exc)
            phrases.append(f"{name} NOT started: cannot listen on {_where(host, port)} ({exc.strerror or exc})")
            continue
        transports.add(listener)
        log.info("SIP listening on %s %s", name, _where(listener.host, listener.port))
        phrases.append(f"{name} {_where(listener.host, listener.port)}")
    return phrases
