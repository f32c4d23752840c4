"""The API commands of ``centrex``: tenants, users, keys, extensions, devices, numbers, audit, events, whoami.

They talk to a server over HTTP through ``centrex.client`` only (never services or the database). Every
command gets the connection options (``--url``, ``--api-key``, ``--user``/``--password``, or the ``CENTREX_*``
variables) and ``--json`` from ``api_command``, which also turns client errors into a message on stderr and
exit status 1; list commands get the paging options (``--limit``, ``--offset``, ``--cursor``, ``--sort``,
``--all``) the same way. Output is a rich table (a field/value table for one object), or with ``--json`` the
API's JSON unchanged. Create and update commands take the common fields as options, plus ``--data JSON`` and
``--set FIELD=VALUE``.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeAlias, get_type_hints

import typer
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from centrex.client import (
    DEFAULT_URL,
    CentrexAPIError,
    CentrexClient,
    CentrexError,
    JSONObject,
    Page,
    TenantCollection,
)

# ------------------------------------------------------------------ shared options
CONNECTION, PAGING = "Connection", "Paging"
Param: TypeAlias = tuple[Any, Any]  # (annotation, default) of an option added to a generated command


def _option(*decls: str, help: str, kind: Any = str | None, default: Any = None, **extra: Any) -> Param:
    """A generated option: ``kind`` with typer's ``Option`` metadata, and its default."""
    return Annotated[kind, typer.Option(*decls, help=help, **extra)], default


COMMON_PARAMS: dict[str, Param] = {
    "cx_url": _option(
        "--url",
        envvar="CENTREX_URL",
        rich_help_panel=CONNECTION,
        help=f"Server URL (default: {DEFAULT_URL}).",
    ),
    "cx_api_key": _option(
        "--api-key",
        envvar="CENTREX_API_KEY",
        rich_help_panel=CONNECTION,
        help="API key (sent as X-API-Key; wins over --user).",
    ),
    "cx_user": _option(
        "--user",
        envvar="CENTREX_USER",
        rich_help_panel=CONNECTION,
        help="Username for HTTP Basic authentication.",
    ),
    "cx_password": _option(
        "--password",
        envvar="CENTREX_PASSWORD",
        rich_help_panel=CONNECTION,
        help="Password for --user (asked for on a terminal when missing).",
    ),
    "cx_json_output": _option("--json", kind=bool, default=False, help="Print the API's JSON instead of a table."),
}
PAGING_PARAMS: dict[str, Param] = {
    "limit": _option("--limit", kind=int | None, min=1, help="Page size.", rich_help_panel=PAGING),
    "offset": _option("--offset", kind=int | None, min=0, help="Rows to skip.", rich_help_panel=PAGING),
    "cursor": _option("--cursor", help="Continue from a previous page's next cursor.", rich_help_panel=PAGING),
    "sort": _option("--sort", help="Sort field, `-` prefix for descending.", rich_help_panel=PAGING),
    "all_pages": _option(
        "--all",
        kind=bool,
        default=False,
        help="Fetch every page (follows the cursor).",
        rich_help_panel=PAGING,
    ),
}

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", envvar="CENTREX_TENANT", help="Tenant id or code.")]
ObjectIdArg = Annotated[str, typer.Argument(help="Object id.", show_default=False)]
TenantArg = Annotated[str, typer.Argument(help="Tenant id or code.", show_default=False)]
DataOpt = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="More fields as a JSON object (inline, @FILE, or - for stdin).",
        rich_help_panel="Other fields",
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="FIELD=text or FIELD:=json (dotted names nest: limits.max_extensions:=5); repeatable, applied last.",
        rich_help_panel="Other fields",
    ),
]
Str = Annotated[str | None, typer.Option()]


# -------------------------------------------------------------------------- output
@dataclass(frozen=True)
class View:
    """How a kind of object shows as a table: its name and the fields shown as list columns."""

    name: str
    columns: tuple[str, ...]
    plural: str = ""

    @property
    def title(self) -> str:
        return self.name[:1].upper() + self.name[1:]

    @property
    def names(self) -> str:
        return self.plural or f"{self.name}s"


def _cell(value: Any) -> Text:
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, dict | list):
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False) if value else ""
    else:
        text = str(value)
    return Text(text)  # Text, not str: values are never read as rich markup


def _table(headers: Sequence[str], **options: Any) -> Table:
    """A table whose cells fold long values instead of cutting them."""
    return Table(*(Column(h, overflow="fold") for h in headers), **options)


def _flatten(obj: JSONObject, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in obj.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _lookup(obj: JSONObject, dotted: str) -> Any:
    value: Any = obj
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@dataclass(frozen=True)
class Paging:
    """A list command's paging options."""

    limit: int | None
    offset: int | None
    cursor: str | None
    sort: str | None
    all_pages: bool


@dataclass
class Session:
    """One command's connection and output settings; builds the client on first use."""

    url: str | None
    api_key: str | None
    user: str | None
    password: str | None
    json_output: bool
    console: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=False))
    _api: CentrexClient | None = field(default=None, init=False, repr=False)

    @property
    def api(self) -> CentrexClient:
        if self._api is None:
            password = self.password
            if self.user and not self.api_key and password is None and sys.stdin.isatty():
                password = typer.prompt("Password", hide_input=True)
            self._api = CentrexClient(
                self.url or _default_url(), api_key=self.api_key, username=self.user, password=password
            )
        return self._api

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key or self.user)

    def close(self) -> None:
        if self._api is not None:
            self._api.close()

    def print_json(self, data: Any) -> None:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))

    def show(self, obj: JSONObject, view: View) -> None:
        """One object: the JSON, or a field/value table of every (flattened) field."""
        if self.json_output:
            self.print_json(obj)
            return
        table = _table(("Field", "Value"), title=view.title, title_justify="left")
        for key, value in _flatten(obj):
            table.add_row(Text(key), _cell(value))
        self.console.print(table)

    def show_items(self, items: list[JSONObject], view: View, caption: str = "") -> None:
        """Several objects: the JSON array, or a table of the view's columns."""
        if self.json_output:
            self.print_json(items)
            return
        headers = [c.replace("_", " ").capitalize() for c in view.columns]
        table = _table(headers, caption=caption or None, caption_justify="left")
        for item in items:
            table.add_row(*(_cell(_lookup(item, c)) for c in view.columns))
        self.console.print(table)

    def show_list(
        self,
        paging: Paging,
        view: View,
        page: Callable[..., Page],
        every: Callable[..., Iterator[JSONObject]],
        filters: dict[str, Any],
    ) -> None:
        """A list command's whole job: one page (or, with ``--all``, every page), as a table or JSON."""
        if paging.all_pages:
            items = list(every(page_size=paging.limit, sort=paging.sort, **filters))
            result: Page = {
                "items": items,
                "total": len(items),
                "limit": len(items),
                "offset": 0,
                "next_cursor": None,
            }
        else:
            result = page(limit=paging.limit, offset=paging.offset, cursor=paging.cursor, sort=paging.sort, **filters)
        if self.json_output:
            self.print_json(result)
            return
        shown = len(result["items"])
        caption = f"{shown} of {result['total']} {view.names}"
        if result.get("next_cursor"):
            caption += f"; more with --cursor {result['next_cursor']}"
        self.show_items(result["items"], view, caption)

    def done(self, message: str) -> None:
        """Confirmation of a command without a body (delete); silent with --json."""
        if not self.json_output:
            typer.echo(message)


def _default_url() -> str:
    """No --url and no CENTREX_URL: the server's own address from its settings (CENTREX_HTTP/PUBLIC_URL)."""
    if not any(k in os.environ for k in ("CENTREX_PUBLIC_URL", "CENTREX_HTTP", "CENTREX_CONFIG")):
        return DEFAULT_URL
    try:
        from centrex.config import Settings

        return Settings().base_url
    except Exception:  # a broken server setting must not stop the client; use the plain default
        return DEFAULT_URL


def _report(exc: CentrexError, session: Session) -> None:
    if isinstance(exc, CentrexAPIError):
        typer.echo(f"Error: {exc.detail} ({exc.status} {exc.code})", err=True)
        for err in exc.errors:
            typer.echo(f"  {err['field'] or '-'}: {err['message']} [{err['code']}]", err=True)
        for ref in exc.problem.get("references") or []:
            if isinstance(ref, dict):
                label = f" ({ref.get('label')})" if ref.get("label") else ""
                typer.echo(f"  used by {ref.get('resource')} {ref.get('id')}{label}", err=True)
        if exc.status == 401 and not session.has_credentials:
            typer.echo("  hint: pass --api-key or --user/--password (or CENTREX_API_KEY, CENTREX_USER)", err=True)
        if exc.request_id:
            typer.echo(f"  request_id: {exc.request_id}", err=True)
    else:
        typer.echo(f"Error: {exc}", err=True)


# ----------------------------------------------------------------- command factory
def api_command(
    group: typer.Typer,
    name: str,
    *,
    help: str | None = None,
    params: dict[str, Param] | None = None,
    paging: bool = False,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(session, [paging,] **own_options)`` as ``group name`` with the shared options added.

    ``params`` adds generated options (e.g. a collection's filters) passed to ``fn`` as keyword arguments.
    """

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        hints = get_type_hints(fn, include_extras=True)
        own = [
            inspect.Parameter(
                p.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=p.default,
                annotation=hints.get(p.name, p.annotation),
            )
            for p in inspect.signature(fn).parameters.values()
            if p.name not in ("s", "paging") and p.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        generated = {**(params or {}), **(PAGING_PARAMS if paging else {}), **COMMON_PARAMS}
        extra = [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
            for n, (a, d) in generated.items()
        ]

        @functools.wraps(fn)
        def run(**kwargs: Any) -> None:
            session = Session(**{k.removeprefix("cx_"): kwargs.pop(k) for k in COMMON_PARAMS})
            args: list[Any] = [session]
            if paging:
                args.append(Paging(**{k: kwargs.pop(k) for k in PAGING_PARAMS}))
            try:
                fn(*args, **kwargs)
            except CentrexError as exc:
                _report(exc, session)
                raise typer.Exit(1) from None
            finally:
                session.close()

        del run.__wrapped__  # typer must see the generated signature
        run.__signature__ = inspect.Signature(own + extra)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in own + extra}
        group.command(name, help=help or fn.__doc__)(run)
        return fn

    return decorate


# ------------------------------------------------------------------ request bodies
def _load_json(text: str) -> JSONObject:
    try:
        if text == "-":
            text = sys.stdin.read()
        elif text.startswith("@"):
            with open(text[1:], encoding="utf-8") as fh:
                text = fh.read()
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint="--data") from None
    except OSError as exc:
        raise typer.BadParameter(str(exc), param_hint="--data") from None
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--data")
    return value


def _put(body: JSONObject, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = body
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def _parse_set(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.rstrip(":"):
        raise typer.BadParameter(f"{item!r}: expected FIELD=text or FIELD:=json", param_hint="--set")
    if not key.endswith(":"):
        return key, raw
    try:
        return key[:-1], json.loads(raw)
    except ValueError:
        raise typer.BadParameter(f"{item!r}: the value after := is not valid JSON", param_hint="--set") from None


def build_body(data: str | None, sets: list[str] | None, **fields: Any) -> JSONObject:
    """The request body: ``--data`` first, then the given (non-None) options, then each ``--set``.

    Option names with ``__`` nest (``limits__max_extensions`` → ``{"limits": {"max_extensions": …}}``).
    """
    body = _load_json(data) if data else {}
    for name, value in fields.items():
        if value is not None:
            _put(body, name.replace("__", "."), value)
    for item in sets or []:
        _put(body, *_parse_set(item))
    return body


# ---------------------------------------------------------------- generic commands
Pick: TypeAlias = Callable[[CentrexClient], TenantCollection]


def tenant_collection_commands(group: typer.Typer, pick: Pick, view: View, filters: dict[str, Param]) -> None:
    """``list``, ``get`` and ``delete`` of a tenant-owned collection (create/update are per resource)."""

    @api_command(group, "list", params=filters, paging=True, help=f"List a tenant's {view.names}.")
    def list_objects(s: Session, paging: Paging, tenant: TenantOpt, **flt: Any) -> None:
        coll = pick(s.api)
        s.show_list(paging, view, functools.partial(coll.list, tenant), functools.partial(coll.iter_all, tenant), flt)

    @api_command(group, "get", help=f"Show one {view.name}.")
    def get_object(s: Session, object_id: ObjectIdArg, tenant: TenantOpt) -> None:
        s.show(pick(s.api).get(tenant, object_id), view)

    @api_command(group, "delete", help=f"Delete a {view.name}.")
    def delete_object(s: Session, object_id: ObjectIdArg, tenant: TenantOpt) -> None:
        pick(s.api).delete(tenant, object_id)
        s.done(f"Deleted {view.name} {object_id}")


NameOpt = Annotated[str | None, typer.Option("--name", help="Display name.")]


def json_collection_commands(
    group: typer.Typer, pick: Pick, view: View, filters: dict[str, Param], *, example: str = ""
) -> None:
    """Everything of ``tenant_collection_commands`` plus ``create`` and ``update`` whose fields come from ``--name``,
    ``--data`` (JSON) and ``--set FIELD=VALUE``: the body is the API's, as documented in docs/ and at /docs."""
    tenant_collection_commands(group, pick, view, filters)
    hint = f" Example: {example}" if example else ""

    @api_command(group, "create", help=f"Create a {view.name} (fields from --name, --data and --set).{hint}")
    def create_object(
        s: Session, tenant: TenantOpt, name: NameOpt = None, data: DataOpt = None, set_: SetOpt = None
    ) -> None:
        s.show(pick(s.api).create(tenant, build_body(data, set_, name=name)), view)

    @api_command(group, "update", help=f"Change a {view.name}: only the fields given are changed.")
    def update_object(
        s: Session,
        object_id: ObjectIdArg,
        tenant: TenantOpt,
        name: NameOpt = None,
        data: DataOpt = None,
        set_: SetOpt = None,
    ) -> None:
        s.show(pick(s.api).update(tenant, object_id, build_body(data, set_, name=name)), view)


EnabledOpt = Annotated[bool | None, typer.Option("--enabled/--disabled", help="Enable or disable.")]
ENABLED_FILTER = _option("--enabled/--disabled", kind=bool | None, help="Only enabled (or only disabled) ones.")

# ------------------------------------------------------------------------- tenants
tenants_app = typer.Typer(help="The tenant tree: resellers and tenants.", no_args_is_help=True)
TENANT = View("tenant", ("id", "code", "name", "kind", "status", "parent_id", "is_template", "sip_domain"))
KindOpt = Annotated[Literal["reseller", "tenant"] | None, typer.Option(help="(default: tenant)")]
TemplateFlag = Annotated[
    bool | None, typer.Option("--is-template/--not-template", help="Mark (or unmark) as a template tenant.")
]
MaxExt = Annotated[int | None, typer.Option("--max-extensions", min=0, help="Limit: extensions.")]
MaxCalls = Annotated[int | None, typer.Option("--max-concurrent-calls", min=0, help="Limit: concurrent calls.")]
MaxCps = Annotated[float | None, typer.Option("--max-cps", help="Limit: new calls per second.")]
ExtLen = Annotated[int | None, typer.Option("--extension-length", help="Digits in extension numbers (2-8).")]


@api_command(
    tenants_app,
    "list",
    paging=True,
    params={
        "kind": _option("--kind", help="platform, reseller or tenant."),
        "status": _option("--status", help="active or suspended."),
        "parent_id": _option("--parent", help="Only children of this tenant (id or code)."),
        "is_template": _option(
            "--is-template/--not-template", kind=bool | None, help="Only templates (or only non-templates)."
        ),
        "q": _option("--search", help="Search in code and name."),
    },
)
def tenants_list(s: Session, paging: Paging, **flt: Any) -> None:
    """List the tenants you can see."""
    s.show_list(paging, TENANT, s.api.tenants.list, s.api.tenants.iter_all, flt)


@api_command(tenants_app, "get")
def tenants_get(s: Session, tenant: TenantArg) -> None:
    """Show one tenant."""
    s.show(s.api.tenants.get(tenant), TENANT)


@api_command(tenants_app, "create")
def tenants_create(
    s: Session,
    code: Annotated[str, typer.Option(help="Unique code: lower-case letters, digits, dashes.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    kind: KindOpt = None,
    parent: Annotated[str | None, typer.Option(help="Parent tenant, id or code (default: yours).")] = None,
    template: Annotated[str | None, typer.Option(help="Create from this template tenant (id or code).")] = None,
    copy: Annotated[
        list[str] | None,
        typer.Option(help="Resource types to copy from the template, repeatable (default: the usual ones)."),
    ] = None,
    is_template: TemplateFlag = None,
    description: Str = None,
    sip_domain: Str = None,
    extension_length: ExtLen = None,
    max_extensions: MaxExt = None,
    max_concurrent_calls: MaxCalls = None,
    max_cps: MaxCps = None,
    timezone: Str = None,
    language: Str = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Create a reseller or tenant, optionally from a template tenant."""
    body = build_body(
        data,
        set_,
        code=code,
        name=name,
        kind=kind,
        parent_id=parent,
        template_id=template,
        copy_resources=copy,
        is_template=is_template,
        description=description,
        sip_domain=sip_domain,
        extension_length=extension_length,
        limits__max_extensions=max_extensions,
        limits__max_concurrent_calls=max_concurrent_calls,
        limits__max_calls_per_second=max_cps,
        timezone=timezone,
        language=language,
    )
    s.show(s.api.tenants.create(body), TENANT)


@api_command(tenants_app, "update")
def tenants_update(
    s: Session,
    tenant: TenantArg,
    name: Str = None,
    description: Str = None,
    is_template: TemplateFlag = None,
    sip_domain: Str = None,
    extension_length: ExtLen = None,
    max_extensions: MaxExt = None,
    max_concurrent_calls: MaxCalls = None,
    max_cps: MaxCps = None,
    timezone: Str = None,
    language: Str = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Change a tenant (only the given fields)."""
    body = build_body(
        data,
        set_,
        name=name,
        description=description,
        is_template=is_template,
        sip_domain=sip_domain,
        extension_length=extension_length,
        limits__max_extensions=max_extensions,
        limits__max_concurrent_calls=max_concurrent_calls,
        limits__max_calls_per_second=max_cps,
        timezone=timezone,
        language=language,
    )
    s.show(s.api.tenants.update(tenant, body), TENANT)


@api_command(tenants_app, "suspend")
def tenants_suspend(s: Session, tenant: TenantArg, reason: Annotated[str, typer.Option(help="Why.")] = "") -> None:
    """Suspend a tenant and its sub-tree (their users can only read)."""
    s.show(s.api.tenants.suspend(tenant, reason), TENANT)


@api_command(tenants_app, "resume")
def tenants_resume(s: Session, tenant: TenantArg) -> None:
    """Resume a suspended tenant."""
    s.show(s.api.tenants.resume(tenant), TENANT)


@api_command(tenants_app, "delete")
def tenants_delete(s: Session, tenant: TenantArg) -> None:
    """Delete a tenant (refused while it has numbers or sub-tenants)."""
    s.api.tenants.delete(tenant)
    s.done(f"Deleted tenant {tenant}")


# --------------------------------------------------------------------------- users
users_app = typer.Typer(help="A tenant's users (administrators and end users).", no_args_is_help=True)
USER = View("user", ("id", "username", "name", "role", "enabled", "extension_id", "last_login_at"))
RoleOpt = Annotated[str | None, typer.Option(help="platform_admin, reseller_admin, tenant_admin or user.")]
ExtIdOpt = Annotated[str | None, typer.Option("--extension", help="Extension id.")]
tenant_collection_commands(
    users_app,
    lambda api: api.users,
    USER,
    {
        "role": _option("--role", help="Only this role."),
        "enabled": ENABLED_FILTER,
        "q": _option("--search", help="Search in username and name."),
    },
)


@api_command(users_app, "create")
def users_create(
    s: Session,
    tenant: TenantOpt,
    username: Annotated[str, typer.Option(help="Login name (unique on the platform).")],
    role: Annotated[str, typer.Option(help="platform_admin, reseller_admin, tenant_admin or user.")],
    name: Str = None,
    email: Str = None,
    extension: ExtIdOpt = None,
    password: Annotated[
        str | None,
        typer.Option("--user-password", help="The user's password (default: generated and shown once)."),
    ] = None,
    enabled: EnabledOpt = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Create a user (a generated password is shown once)."""
    body = build_body(
        data,
        set_,
        username=username,
        role=role,
        name=name,
        email=email,
        extension_id=extension,
        password=password,
        enabled=enabled,
    )
    s.show(s.api.users.create(tenant, body), USER)


@api_command(users_app, "update")
def users_update(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    name: Str = None,
    email: Str = None,
    role: RoleOpt = None,
    extension: ExtIdOpt = None,
    enabled: EnabledOpt = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Change a user (only the given fields)."""
    body = build_body(data, set_, name=name, email=email, role=role, extension_id=extension, enabled=enabled)
    s.show(s.api.users.update(tenant, object_id, body), USER)


@api_command(users_app, "password")
def users_password(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    new_password: Annotated[str | None, typer.Option("--new-password", help="(default: generated, shown once)")] = None,
) -> None:
    """Set or reset a user's password."""
    s.show(s.api.users.set_password(tenant, object_id, new_password), View("password", ()))


# ------------------------------------------------------------------------ API keys
keys_app = typer.Typer(
    help="A tenant's API keys (the secret is shown once, at create and rotate).", no_args_is_help=True
)
KEY = View("API key", ("id", "name", "prefix", "role", "read_only", "status", "expires_at", "last_used_at"))
ExpiresOpt = Annotated[str | None, typer.Option(help="Expiry, ISO-8601 with a zone (2030-01-01T00:00:00Z).")]
tenant_collection_commands(
    keys_app,
    lambda api: api.api_keys,
    KEY,
    {
        "status": _option("--status", help="active, revoked or expired."),
    },
)


def _show_secret(s: Session, issued: JSONObject) -> None:
    s.show(issued, KEY)
    if not s.json_output:
        typer.echo("Store the key now: it is not shown again.", err=True)


@api_command(keys_app, "create")
def keys_create(
    s: Session,
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="What the key is for.")],
    read_only: Annotated[bool, typer.Option("--read-only", help="Only GET requests.")] = False,
    expires_at: ExpiresOpt = None,
    key_format: Annotated[
        Literal["native", "hex32"] | None,
        typer.Option("--format", help="native (cx_…) or hex32 (default: native)."),
    ] = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Create an API key; the secret is in `key` (shown once)."""
    body = build_body(data, set_, name=name, read_only=read_only or None, expires_at=expires_at, format=key_format)
    _show_secret(s, s.api.api_keys.create(tenant, body))


@api_command(keys_app, "update")
def keys_update(
    s: Session, object_id: ObjectIdArg, tenant: TenantOpt, name: Str = None, expires_at: ExpiresOpt = None
) -> None:
    """Rename a key or change its expiry."""
    s.show(
        s.api.api_keys.update(tenant, object_id, build_body(None, None, name=name, expires_at=expires_at)),
        KEY,
    )


@api_command(keys_app, "rotate")
def keys_rotate(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    overlap: Annotated[
        int | None, typer.Option(min=0, help="Seconds the old key keeps working (default: server setting).")
    ] = None,
) -> None:
    """Issue a replacement key; the old one keeps working for the overlap."""
    _show_secret(s, s.api.api_keys.rotate(tenant, object_id, overlap_seconds=overlap))


@api_command(keys_app, "revoke")
def keys_revoke(s: Session, object_id: ObjectIdArg, tenant: TenantOpt) -> None:
    """Revoke a key at once."""
    s.show(s.api.api_keys.revoke(tenant, object_id), KEY)


# ---------------------------------------------------------------------- extensions
extensions_app = typer.Typer(help="A tenant's extensions.", no_args_is_help=True)
EXTENSION = View("extension", ("id", "number", "name", "email", "enabled", "dnd", "sip_username", "outbound_level"))
tenant_collection_commands(
    extensions_app,
    lambda api: api.extensions,
    EXTENSION,
    {
        "number": _option("--number", help="Exact extension number."),
        "q": _option("--search", help="Search in number and name."),
        "enabled": ENABLED_FILTER,
        "dnd": (
            Annotated[bool | None, typer.Option("--dnd/--no-dnd", help="Only with (or without) DND.")],
            None,
        ),
    },
)
LevelOpt = Annotated[str | None, typer.Option(help="internal, local, national, international or unrestricted.")]
SipPwOpt = Annotated[str | None, typer.Option(help="SIP password (default: generated).")]
PinOpt = Annotated[str | None, typer.Option(help="Voicemail PIN (4-10 digits).")]


@api_command(extensions_app, "create")
def extensions_create(
    s: Session,
    tenant: TenantOpt,
    number: Annotated[str, typer.Option(help="Extension number (the tenant's extension length).")],
    name: Annotated[str, typer.Option(help="Display name.")],
    email: Str = None,
    first_name: Str = None,
    last_name: Str = None,
    mobile: Str = None,
    sip_username: Str = None,
    sip_password: SipPwOpt = None,
    outbound_level: LevelOpt = None,
    voicemail_pin: PinOpt = None,
    enabled: EnabledOpt = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Create an extension (the SIP password is shown once)."""
    body = build_body(
        data,
        set_,
        number=number,
        name=name,
        email=email,
        first_name=first_name,
        last_name=last_name,
        mobile=mobile,
        sip_username=sip_username,
        sip_password=sip_password,
        outbound_level=outbound_level,
        voicemail_pin=voicemail_pin,
        enabled=enabled,
    )
    s.show(s.api.extensions.create(tenant, body), EXTENSION)


@api_command(extensions_app, "update")
def extensions_update(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    number: Str = None,
    name: Str = None,
    email: Str = None,
    first_name: Str = None,
    last_name: Str = None,
    mobile: Str = None,
    sip_password: SipPwOpt = None,
    outbound_level: LevelOpt = None,
    voicemail_pin: PinOpt = None,
    enabled: EnabledOpt = None,
    dnd: Annotated[bool | None, typer.Option("--dnd/--no-dnd", help="Do not disturb.")] = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Change an extension (only the given fields)."""
    body = build_body(
        data,
        set_,
        number=number,
        name=name,
        email=email,
        first_name=first_name,
        last_name=last_name,
        mobile=mobile,
        sip_password=sip_password,
        outbound_level=outbound_level,
        voicemail_pin=voicemail_pin,
        enabled=enabled,
        dnd=dnd,
    )
    s.show(s.api.extensions.update(tenant, object_id, body), EXTENSION)


@api_command(extensions_app, "credentials")
def extensions_credentials(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    rotate: Annotated[bool, typer.Option("--rotate", help="Generate a new SIP password first.")] = False,
) -> None:
    """Show an extension's SIP credentials (or rotate them)."""
    ext = s.api.extensions
    creds = ext.rotate_sip_credentials(tenant, object_id) if rotate else ext.sip_credentials(tenant, object_id)
    s.show(creds, View("SIP credentials", ()))


# ------------------------------------------------------------------------- devices
devices_app = typer.Typer(help="A tenant's desk phones and other provisioned devices.", no_args_is_help=True)
DEVICE = View("device", ("id", "mac", "model", "name", "extension_id", "enabled"))
tenant_collection_commands(
    devices_app,
    lambda api: api.devices,
    DEVICE,
    {
        "extension_id": _option("--extension", help="Only devices of this extension id."),
        "mac": _option("--mac", help="MAC address."),
    },
)


@api_command(devices_app, "create")
def devices_create(
    s: Session,
    tenant: TenantOpt,
    mac: Annotated[str, typer.Option(help="MAC address (any common notation).")],
    model: Annotated[str, typer.Option(help="Phone model.")],
    name: Str = None,
    extension: ExtIdOpt = None,
    enabled: EnabledOpt = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Create a device (line keys via --data or --set line_keys:=[...])."""
    body = build_body(data, set_, mac=mac, model=model, name=name, extension_id=extension, enabled=enabled)
    s.show(s.api.devices.create(tenant, body), DEVICE)


@api_command(devices_app, "update")
def devices_update(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    model: Str = None,
    name: Str = None,
    extension: ExtIdOpt = None,
    enabled: EnabledOpt = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Change a device (only the given fields)."""
    body = build_body(data, set_, model=model, name=name, extension_id=extension, enabled=enabled)
    s.show(s.api.devices.update(tenant, object_id, body), DEVICE)


# ------------------------------------------------------------------------- numbers
numbers_app = typer.Typer(help="A tenant's phone numbers (DIDs).", no_args_is_help=True)
NUMBER = View("number", ("id", "number", "description", "created_at"))
tenant_collection_commands(
    numbers_app,
    lambda api: api.numbers,
    NUMBER,
    {
        "q": _option("--search", help="Search in the number."),
    },
)
DescriptionOpt = Annotated[str | None, typer.Option(help="Free text.")]


@api_command(numbers_app, "create")
def numbers_create(
    s: Session,
    tenant: TenantOpt,
    number: Annotated[str, typer.Option(help="Phone number (E.164, e.g. +12125550100).")],
    description: DescriptionOpt = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Add a number to a tenant."""
    s.show(s.api.numbers.create(tenant, build_body(data, set_, number=number, description=description)), NUMBER)


@api_command(numbers_app, "update")
def numbers_update(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    description: DescriptionOpt = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Change a number's description."""
    s.show(s.api.numbers.update(tenant, object_id, build_body(data, set_, description=description)), NUMBER)


# --------------------------------------------------------------- audit, events, me
AUDIT = View(
    "audit entry",
    ("at", "actor_name", "action", "resource_type", "resource_id", "request_id"),
    "audit entries",
)
EVENT = View("event", ("seq", "occurred_at", "type", "resource_type", "resource_id"))
ME = View("identity", ())
misc_app = typer.Typer()


@api_command(
    misc_app,
    "audit",
    paging=True,
    params={
        "resource_type": _option("--resource-type", help="e.g. extension."),
        "resource_id": _option("--resource-id", help="Object id."),
        "actor": _option("--actor", help="Actor id (user or key)."),
        "action": _option("--action", help="e.g. create, update, delete."),
        "since": _option("--since", help="From this time (ISO-8601 with a zone)."),
        "until": _option("--until", help="Before this time (ISO-8601 with a zone)."),
    },
)
def audit(
    s: Session,
    paging: Paging,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant",
            "-t",
            envvar="CENTREX_TENANT",
            help="Tenant id or code (default: your whole sub-tree).",
        ),
    ] = None,
    **flt: Any,
) -> None:
    """The audit log, newest first: one tenant's, or your whole sub-tree's."""
    log = s.api.audit
    s.show_list(paging, AUDIT, functools.partial(log.list, tenant), functools.partial(log.iter_all, tenant), flt)


@api_command(
    misc_app,
    "events",
    paging=True,
    params={
        "type": _option("--type", help="Exact type, or a prefix ending in '.' (extension.)."),
        "resource_id": _option("--resource-id", help="Object id."),
        "after_seq": _option("--after-seq", help="Only events after this position.", kind=int | None),
    },
)
def events(s: Session, paging: Paging, tenant: TenantOpt, **flt: Any) -> None:
    """A tenant's events, oldest first."""
    ev = s.api.events
    s.show_list(paging, EVENT, functools.partial(ev.list, tenant), functools.partial(ev.iter_all, tenant), flt)


@api_command(misc_app, "whoami")
def whoami(s: Session) -> None:
    """Who the credentials are: role, tenant and permissions."""
    s.show(s.api.me(), ME)


# -------------------------------------------------------------------- registration
def register(app: typer.Typer) -> None:
    """Add the API commands to the ``centrex`` app."""
    app.add_typer(tenants_app, name="tenants")
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")
    app.add_typer(extensions_app, name="extensions")
    app.add_typer(devices_app, name="devices")
    app.add_typer(numbers_app, name="numbers")
    for command in misc_app.registered_commands:
        app.registered_commands.append(command)
