"""Settings: defaults in code, an optional TOML file, and ``CENTREX_*`` environment variables on top.

The same keys work on the command line of ``centrex serve`` (``--data-dir``, ``--http``, ``--database-url``).
"""

from __future__ import annotations

import ipaddress
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


def _split_hostport(value: str, default_port: int) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, default_port
    host = host.strip("[]")
    return host or "127.0.0.1", int(port)


class _TomlSource(PydanticBaseSettingsSource):
    """Reads ``CENTREX_CONFIG`` (a TOML file) when it is set."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        import os

        path = os.environ.get("CENTREX_CONFIG")
        if not path:
            return {}
        with open(path, "rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CENTREX_", extra="ignore")

    data_dir: Path = Field(default=Path("./var"), description="Where the SQLite database and secrets live.")
    http: str = Field(default="127.0.0.1:8080", description="HOST:PORT of the HTTP API.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default sqlite+aiosqlite under data_dir."
    )
    public_url: str | None = Field(default=None, description="Base URL printed and used in links.")
    admin_username: str = "admin"
    admin_password: str | None = Field(default=None, description="First platform admin password.")
    secret_key: str | None = Field(default=None, description="Key for encrypting stored secrets (base64).")
    platform_domain: str = Field(default="pbx.local", description="Parent domain of tenant SIP domains.")
    auto_migrate: bool = True
    log_level: str = "info"
    log_json: bool = False

    # API conventions
    page_max: int = Field(default=500, ge=1, le=10_000)
    page_default: int = Field(default=50, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(default=25 * 1_048_576, ge=1024, description="Cap for audio/CSV uploads.")
    trunk_private_addresses: bool = Field(
        default=False,
        description="Allow trunks (and IP ACLs) on private, loopback and documentation addresses (labs, tests).",
    )
    idempotency_ttl_seconds: int = 24 * 3600
    rate_limit_per_key: float = Field(default=50.0, description="Sustained requests/s per credential.")
    rate_limit_key_burst: int = 200
    rate_limit_per_ip: float = Field(default=100.0, description="Sustained requests/s per client IP.")
    rate_limit_ip_burst: int = 400
    login_max_failures: int = 5
    login_lock_seconds: float = 30.0
    login_lock_max_seconds: float = 900.0
    session_ttl_seconds: int = 8 * 3600
    principal_cache_seconds: float = 2.0
    response_cache_seconds: float = Field(
        default=1.0, ge=0, description="Lifetime of cached GET answers (0 disables); local changes apply at once."
    )
    key_rotation_overlap_seconds: int = 3600
    cookie_secure: bool = False

    # Webhooks (centrex.webhooks; docs/webhooks.md)
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs on private, loopback, link-local and other non-public addresses "
        "(on-premise receivers, tests). Off: such targets are refused at subscription and at delivery.",
    )
    webhook_worker: bool = Field(default=True, description="Run the webhook fan-out and delivery worker here.")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one delivery attempt.")
    webhook_max_attempts: int = Field(default=10, ge=1, le=50, description="Attempts per delivery before it fails.")
    webhook_backoff_base_seconds: float = Field(default=5.0, gt=0, description="First retry delay cap (doubles).")
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0, description="Largest retry delay cap.")
    webhook_disable_after_failures: int = Field(
        default=20, ge=1, description="Consecutive failed deliveries after which an endpoint is disabled."
    )
    webhook_disable_after_seconds: float = Field(
        default=86400.0, gt=0, description="An endpoint failing every attempt for this long is disabled."
    )
    webhook_lease_seconds: float = Field(
        default=60.0, gt=0, description="A claimed delivery whose worker died is picked up again after this."
    )
    webhook_poll_seconds: float = Field(default=1.0, gt=0, description="How often due retries are looked for.")

    # SIP edge guard (centrex.sipguard; docs/sip-security.md)
    sip_guard_auth_failures: int = Field(default=5, ge=1, description="Failed SIP auths per user+IP before a block.")
    sip_guard_auth_window_seconds: float = Field(default=300.0, gt=0)
    sip_guard_auth_block_seconds: float = Field(default=900.0, gt=0)
    sip_guard_spray_usernames: int = Field(default=20, ge=1, description="Usernames one IP may fail for, per window.")
    sip_guard_spray_ban_seconds: float = Field(default=3600.0, gt=0)
    sip_guard_flood_rate: float = Field(default=20.0, gt=0, description="Sustained SIP requests/s per source IP.")
    sip_guard_flood_burst: float = Field(default=100.0, ge=1)
    sip_guard_flood_ban_seconds: float = Field(default=600.0, gt=0)
    sip_guard_scanner_ban_seconds: float = Field(default=86400.0, gt=0)
    sip_guard_trusted: list[str] = Field(
        default_factory=list, description="IPs/CIDRs never limited by the SIP guard (trunks, an edge proxy)."
    )
    sip_listen: str | None = Field(
        default=None,
        description="HOST:PORT where SIP is served over UDP and TCP (`centrex serve` defaults to 127.0.0.1:5060); "
        "unset or `off`: no SIP listener.",
    )
    # Media relay (centrex.media.rtp; docs/calls.md "Media")
    media_relay: bool = Field(default=True, description="Anchor the RTP of B2BUA calls through the engine's relay.")
    rtp_port_range: str = Field(
        default="20000-29999",
        validation_alias=AliasChoices("CENTREX_RTP_PORTS", "rtp_port_range"),
        description="MIN-MAX UDP ports of the media relay (env CENTREX_RTP_PORTS); each call takes two even/odd pairs.",
    )
    rtp_bind: str | None = Field(
        default=None, description="IP the media relay binds and announces; default: the SIP host."
    )
    rtpengine_ng: str | None = Field(
        default=None,
        description="HOST:PORT of an rtpengine ng control socket (UDP); set: calls are anchored by rtpengine "
        "instead of the built-in relay.",
    )
    media_timeout_seconds: float = Field(
        default=60.0, ge=0, description="Hang up an answered call after this long without RTP either way (0: never)."
    )
    # SIP transports beyond UDP/TCP (docs/sip.md "Transports")
    sip_tls_listen: str | None = Field(
        default=None,
        description="HOST:PORT of SIP over TLS; default: the SIP host, port 5061; `off`: no TLS listener.",
    )
    sip_tls_cert: str | None = Field(
        default=None, description="PEM certificate chain for SIP TLS; unset: a self-signed one in the data dir."
    )
    sip_tls_key: str | None = Field(default=None, description="PEM private key of `sip_tls_cert`.")
    sip_ws_listen: str | None = Field(
        default=None,
        description="HOST:PORT of SIP over WebSocket (RFC 7118); default: the SIP host, port 5066; `off`: none.",
    )
    sip_wss_listen: str | None = Field(
        default=None,
        description="HOST:PORT of SIP over secure WebSocket (the TLS certificate); default when WS is on: the SIP "
        "host, port 7443; `off`: none.",
    )

    @field_validator("sip_tls_listen", "sip_ws_listen", "sip_wss_listen")
    @classmethod
    def _check_sip_transport(cls, value: str | None) -> str | None:
        """None: the default; ``off``: disabled; else a normalised HOST:PORT (a bare port: on the SIP host)."""
        if value is None or not value.strip():
            return None
        text = value.strip()
        if text.lower() in ("off", "none", "no", "false"):
            return "off"
        if text.isdigit():
            text = f":{text}"
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"expected HOST:PORT, :PORT or off, not {value!r}")
        host = host.strip("[]")
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def _sip_transport_hostport(self, value: str | None, default_port: int) -> tuple[str, int] | None:
        sip = self.sip_hostport
        if sip is None or value == "off":
            return None
        if value is None:
            return sip[0], default_port
        host, _, port = value.rpartition(":")
        return host.strip("[]") or sip[0], int(port)

    @property
    def sip_tls_hostport(self) -> tuple[str, int] | None:
        """(host, port) of SIP over TLS; None when SIP or TLS is off."""
        return self._sip_transport_hostport(self.sip_tls_listen, 5061)

    @property
    def sip_ws_hostport(self) -> tuple[str, int] | None:
        """(host, port) of SIP over WebSocket; None when SIP or WS is off."""
        return self._sip_transport_hostport(self.sip_ws_listen, 5066)

    @property
    def sip_wss_hostport(self) -> tuple[str, int] | None:
        """(host, port) of SIP over secure WebSocket; unset: on (port 7443) only when WS is on."""
        if self.sip_wss_listen is None and self.sip_ws_hostport is None:
            return None
        return self._sip_transport_hostport(self.sip_wss_listen, 7443)

    @property
    def sip_tls_dir(self) -> Path:
        """Where the self-signed SIP TLS certificate is made when ``sip_tls_cert`` is unset."""
        return self.data_dir / "sip-tls"

    # NAT keep-alive and trunk registration (centrex.engine)
    sip_keepalive_seconds: float = Field(
        default=30.0, ge=0, description="OPTIONS ping interval to registered contacts (0: no pings)."
    )

    # Event relay, bus and stream (centrex.events; docs/events.md)
    nats_url: str | None = Field(
        default=None, description="NATS server with JetStream (e.g. nats://127.0.0.1:4222); unset: in-process bus."
    )
    nats_stream: str = Field(default="CENTREX_EVENTS", description="JetStream stream holding the events.")
    nats_subject_prefix: str = Field(
        default="centrex.events", description="Subjects are `<prefix>.<tenant_id>.<event type>`."
    )
    events_retention_days: float = Field(
        default=7.0, gt=0, description="Published outbox events (and the NATS stream) are kept this long (resume)."
    )
    events_relay_poll_seconds: float = Field(default=0.15, gt=0, description="Outbox relay poll interval.")
    events_keepalive_seconds: float = Field(default=15.0, gt=0, description="SSE/WebSocket keep-alive interval.")
    events_subscriber_queue: int = Field(
        default=1000, ge=10, description="Events buffered per stream subscriber before it is dropped as too slow."
    )

    @field_validator("http")
    @classmethod
    def _check_http(cls, value: str) -> str:
        _split_hostport(value, 8080)
        return value

    @field_validator("sip_listen")
    @classmethod
    def _check_sip(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("", "off", "none", "no", "false"):
            return None
        host, port = _split_hostport(value.strip(), 5060)
        if not 0 <= port <= 65535:
            raise ValueError("sip_listen: port out of range")
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @field_validator("rtp_port_range")
    @classmethod
    def _check_rtp_ports(cls, value: str) -> str:
        low, sep, high = value.strip().partition("-")
        if not sep or not low.strip().isdigit() or not high.strip().isdigit():
            raise ValueError("rtp_port_range: expected MIN-MAX, e.g. 20000-29999")
        lo, hi = int(low), int(high)
        if not 1024 <= lo < hi <= 65535 or hi - lo < 3:
            raise ValueError("rtp_port_range: MIN < MAX within 1024-65535, at least two port pairs")
        return f"{lo}-{hi}"

    @field_validator("rtp_bind")
    @classmethod
    def _check_rtp_bind(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return str(ipaddress.ip_address(value.strip().strip("[]")))
        except ValueError:
            raise ValueError(f"rtp_bind: {value!r} is not an IP address") from None

    @property
    def rtp_ports(self) -> tuple[int, int]:
        """(min, max) of ``rtp_port_range``."""
        low, _, high = self.rtp_port_range.partition("-")
        return int(low), int(high)

    @property
    def sip_hostport(self) -> tuple[str, int] | None:
        """(host, port) of the SIP listener (UDP and TCP), None when SIP is off."""
        return _split_hostport(self.sip_listen, 5060) if self.sip_listen else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @cached_property
    def http_host(self) -> str:
        return _split_hostport(self.http, 8080)[0]

    @cached_property
    def http_port(self) -> int:
        return _split_hostport(self.http, 8080)[1]

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'centrex.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        """Where audio blobs (prompts, greetings, voicemail) are stored, by content digest."""
        return self.data_dir / "blobs"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.http_host if self.http_host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
        return f"http://{host}:{self.http_port}"
