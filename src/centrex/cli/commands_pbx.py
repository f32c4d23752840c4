"""``centrex`` commands for the rest of the PBX configuration: call routing (inbound routes, trunks, outbound routes,
caller-ID blocks, the dial plan and the resolver), groups (ring, pickup, extension groups), queues and their agents,
conferences, media files, music-on-hold classes, phonebooks, contacts and voicemail messages.

Each collection has ``list``/``get``/``delete`` and ``create``/``update`` taking the API's fields from ``--name``,
``--data`` (JSON) and ``--set FIELD=VALUE`` (``FIELD:=JSON``), so nothing the API accepts is out of reach; the
commands below add what a person types often (members, agents, uploads, CSV, the resolver).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from centrex.cli.commands import (
    ENABLED_FILTER,
    ObjectIdArg,
    Session,
    Str,
    TenantOpt,
    View,
    _option,
    api_command,
    json_collection_commands,
)

SEARCH = {"q": _option("--search", help="Search in the name.")}
ItemsArg = Annotated[list[str], typer.Argument(help="Extension ids or numbers, or outside numbers (E.164).")]
OutOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: standard output).")]


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)


# ------------------------------------------------------------------------------------------------ routing
inbound_app = typer.Typer(help="A tenant's inbound routes: number or pattern → destination.", no_args_is_help=True)
INBOUND = View("inbound route", ("id", "name", "number_id", "pattern", "destination.type", "destination.id", "enabled"))
json_collection_commands(
    inbound_app,
    lambda api: api.inbound_routes,
    INBOUND,
    {**SEARCH, "enabled": ENABLED_FILTER},
    example='--data \'{"number_id": "num_…", "destination": {"type": "ivr", "id": "ivr_…"}}\'',
)

trunks_app = typer.Typer(help="SIP trunks to carriers (own, and shared by a reseller or the platform).")
TRUNK = View("trunk", ("id", "name", "kind", "shared", "host", "max_channels", "enabled"))
json_collection_commands(
    trunks_app,
    lambda api: api.trunks,
    TRUNK,
    SEARCH,
    example="--name Carrier --set kind=ip --set host=sip.carrier.example --set allowed_ips:='[\"203.0.113.0/24\"]'",
)


@api_command(trunks_app, "available")
def trunks_available(s: Session, tenant: TenantOpt) -> None:
    """Trunks an outbound route of the tenant may use: its own and those shared with it from above."""
    page = s.api.trunks.available(tenant)
    s.show_items(page["items"], View("available trunk", ("id", "name", "kind", "shared", "inherited", "tenant_id")))


outbound_app = typer.Typer(help="A tenant's outbound routes (the emergency route always exists).", no_args_is_help=True)
OUTBOUND = View("outbound route", ("id", "priority", "name", "destination_class", "trunk_ids", "emergency", "enabled"))
json_collection_commands(
    outbound_app,
    lambda api: api.outbound_routes,
    OUTBOUND,
    {
        **SEARCH,
        "destination_class": _option("--class", help="Destination class."),
        "trunk_id": _option("--trunk", help="Only routes using this trunk."),
    },
    example='--name National --data \'{"patterns": [{"match": "1NXXNXXXXXX"}], "trunk_ids": ["trk_…"]}\'',
)

cid_app = typer.Typer(help="A tenant's blocked caller IDs.", no_args_is_help=True)
CALLER_ID_BLOCK = View("caller-ID block", ("id", "pattern", "action", "reason"))
json_collection_commands(cid_app, lambda api: api.caller_id_blocks, CALLER_ID_BLOCK, {})

dial_plan_app = typer.Typer(help="The numbers a tenant's dial plan uses.", no_args_is_help=True)


@api_command(dial_plan_app, "numbers")
def dial_plan_numbers(s: Session, tenant: TenantOpt) -> None:
    """Every used number and what it dials."""
    listing = s.api.dial_plan.numbers(tenant)
    s.show_items(listing["items"], View("number", ("number", "type", "id", "name")))


@api_command(dial_plan_app, "free")
def dial_plan_free(
    s: Session,
    tenant: TenantOpt,
    limit: Annotated[int | None, typer.Option(min=1, max=500, help="How many.")] = None,
    start: Annotated[int | None, typer.Option("--from", min=0, help="Start at this number.")] = None,
) -> None:
    """Free extension numbers."""
    answer = s.api.dial_plan.free(tenant, limit=limit, start=start)
    if s.json_output:
        s.print_json(answer)
    else:
        typer.echo(" ".join(str(n) for n in answer["items"]))


routing_app = typer.Typer(help="Ask the call-flow resolver what happens to a call.", no_args_is_help=True)


@api_command(routing_app, "resolve")
def routing_resolve(
    s: Session,
    dialled: Annotated[str, typer.Argument(help="The number dialled (a DID, or what an extension dials).")],
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", envvar="CENTREX_TENANT", help="Tenant.")] = None,
    from_extension: Annotated[str | None, typer.Option("--from", help="Dialled by this extension (internal).")] = None,
    caller_id: Annotated[str | None, typer.Option(help="The caller's number.")] = None,
    at: Annotated[str | None, typer.Option(help="When (ISO 8601 with a zone; default now).")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Resolve every branch too.")] = False,
) -> None:
    """Without --tenant the number is looked up platform-wide as a DID."""
    body: dict[str, Any] = {"explain": explain}
    body.update({k: v for k, v in {"from_extension": from_extension, "caller_id": caller_id, "at": at}.items() if v})
    if tenant:
        answer = s.api.routing.resolve(tenant, {"dialled": dialled, **body})
    else:
        answer = s.api.routing.resolve_did({"did": dialled, **body})
    if s.json_output:
        s.print_json(answer)
        return
    for i, entry in enumerate(answer["trace"], 1):
        name = f" {entry['name']}" if entry.get("name") else ""
        typer.echo(f"{i}. {entry['kind']}{name}: {entry['detail']}")
    step = answer["step"]
    typer.echo(
        "→ " + ", ".join(f"{k}={v}" for k, v in step.items() if v is not None and not isinstance(v, dict | list))
    )


# ------------------------------------------------------------------------------------------------- groups
ring_app = typer.Typer(help="A tenant's ring groups / hunt lists.", no_args_is_help=True)
RING_GROUP = View("ring group", ("id", "number", "name", "strategy", "ring_time", "members"))
json_collection_commands(
    ring_app,
    lambda api: api.ring_groups,
    RING_GROUP,
    SEARCH,
    example="--name Support --set number=600 --set strategy=ring_all",
)
MEMBER = View("member", ("type", "number", "name", "extension_id", "ring_time", "delay"))


@api_command(ring_app, "members")
def ring_members(s: Session, object_id: ObjectIdArg, tenant: TenantOpt) -> None:
    """A ring group's members in hunt order."""
    s.show_items(s.api.ring_groups.members(tenant, object_id)["items"], MEMBER)


@api_command(ring_app, "set-members")
def ring_set_members(s: Session, object_id: ObjectIdArg, members: ItemsArg, tenant: TenantOpt) -> None:
    """Replace a ring group's members (in hunt order)."""
    s.show_items(s.api.ring_groups.set_members(tenant, object_id, list(members))["items"], MEMBER)


pickup_app = typer.Typer(help="A tenant's call pickup groups.", no_args_is_help=True)
json_collection_commands(
    pickup_app, lambda api: api.pickup_groups, View("pickup group", ("id", "name", "member_ids")), {}
)
extgroup_app = typer.Typer(help="A tenant's extension groups.", no_args_is_help=True)
json_collection_commands(
    extgroup_app, lambda api: api.extension_groups, View("extension group", ("id", "name", "member_ids")), SEARCH
)

queues_app = typer.Typer(help="A tenant's call queues and their agents.", no_args_is_help=True)
QUEUE = View("queue", ("id", "number", "name", "strategy", "max_wait", "max_callers"))
json_collection_commands(
    queues_app,
    lambda api: api.queues,
    QUEUE,
    SEARCH,
    example="--name Sales --set number=700 --set strategy=longest_idle",
)
AGENT = View(
    "agent", ("id", "extension_id", "external_number", "kind", "penalty", "logged_in", "paused", "pause_reason")
)


@api_command(queues_app, "agents")
def queue_agents(s: Session, object_id: ObjectIdArg, tenant: TenantOpt) -> None:
    """A queue's agents and their state."""
    s.show_items(s.api.queues.agents(tenant, object_id)["items"], AGENT)


@api_command(queues_app, "add-agent")
def queue_add_agent(
    s: Session,
    object_id: ObjectIdArg,
    agent: Annotated[str, typer.Argument(help="Extension id, or an outside number (E.164, starting with +).")],
    tenant: TenantOpt,
    kind: Annotated[str | None, typer.Option(help="static or dynamic.")] = None,
    penalty: Annotated[int | None, typer.Option(help="Lower rings first.")] = None,
) -> None:
    """Add an agent to a queue."""
    body: dict[str, Any] = {"external_number": agent} if agent.startswith("+") else {"extension_id": agent}
    body.update({k: v for k, v in {"kind": kind, "penalty": penalty}.items() if v is not None})
    s.show(s.api.queues.add_agent(tenant, object_id, body), AGENT)


@api_command(queues_app, "agent")
def queue_agent_state(
    s: Session,
    object_id: ObjectIdArg,
    agent_id: Annotated[str, typer.Argument(help="Agent id (from `queues agents`).")],
    action: Annotated[str, typer.Argument(help="login, logout, pause or unpause.")],
    tenant: TenantOpt,
    reason: Str = None,
) -> None:
    """Log an agent in or out of a queue, or pause it (with a reason) and end the pause."""
    if action not in ("login", "logout", "pause", "unpause"):
        raise typer.BadParameter("use login, logout, pause or unpause", param_hint="ACTION")
    s.show(s.api.queues.agent_state(tenant, object_id, agent_id, action, reason=reason), AGENT)


conf_app = typer.Typer(help="A tenant's conference rooms.", no_args_is_help=True)
json_collection_commands(
    conf_app,
    lambda api: api.conferences,
    View("conference", ("id", "number", "name", "max_members", "record")),
    SEARCH,
    example="--name Board --set number=800 --set moderator_pin=2468",
)

# -------------------------------------------------------------------------------------------------- media
media_app = typer.Typer(help="A tenant's audio files: prompts, greetings, music on hold.", no_args_is_help=True)
MEDIA = View("media file", ("id", "name", "kind", "language", "duration_ms", "source"))
json_collection_commands(media_app, lambda api: api.media, MEDIA, SEARCH)


@api_command(media_app, "upload")
def media_upload(
    s: Session,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="WAV or MP3 file.")],
    tenant: TenantOpt,
    name: Str = None,
    kind: Annotated[str | None, typer.Option(help="prompt, greeting, moh or system.")] = None,
    language: Str = None,
) -> None:
    """Upload audio; it is stored as 8 kHz mono WAV."""
    meta = {"name": name, "kind": kind, "language": language}
    s.show(s.api.media.upload(tenant, file.name, file.read_bytes(), **meta), MEDIA)


@api_command(media_app, "tts")
def media_tts(
    s: Session,
    text: Annotated[str, typer.Argument(help="What to say.")],
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="Name of the new media file.")],
    language: Str = None,
    voice: Str = None,
) -> None:
    """Make a prompt from text (offline speech synthesis)."""
    body: dict[str, Any] = {"name": name, "text": text}
    body.update({k: v for k, v in {"language": language, "voice": voice}.items() if v})
    s.show(s.api.media.tts(tenant, body), MEDIA)


@api_command(media_app, "download")
def media_download(s: Session, object_id: ObjectIdArg, tenant: TenantOpt, output: OutOpt = None) -> None:
    """Download a media file's audio (WAV)."""
    _write(s.api.media.audio(tenant, object_id), output)


moh_app = typer.Typer(help="A tenant's music-on-hold classes.", no_args_is_help=True)
json_collection_commands(moh_app, lambda api: api.moh_classes, View("MOH class", ("id", "name", "media_ids")), SEARCH)

# ------------------------------------------------------------------------------------------------ contacts
phonebooks_app = typer.Typer(help="A tenant's phonebooks.", no_args_is_help=True)
json_collection_commands(
    phonebooks_app, lambda api: api.phonebooks, View("phonebook", ("id", "name", "scope", "owner_user_id")), SEARCH
)


@api_command(phonebooks_app, "import")
def phonebooks_import(
    s: Session,
    object_id: ObjectIdArg,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file with a header row.")],
    tenant: TenantOpt,
    preview: Annotated[bool, typer.Option("--preview", help="Validate only.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid lines.")] = False,
) -> None:
    """Import contacts from CSV: all lines or none (unless --skip-invalid)."""
    answer = s.api.phonebooks.import_csv(
        tenant, object_id, file.read_bytes(), preview=preview, skip_invalid=skip_invalid
    )
    s.show(answer, View("import", ()))


contacts_app = typer.Typer(help="A tenant's contacts.", no_args_is_help=True)
CONTACT = View("contact", ("id", "first_name", "last_name", "company", "numbers", "phonebook_id"))
json_collection_commands(
    contacts_app,
    lambda api: api.contacts,
    CONTACT,
    {**SEARCH, "phonebook_id": _option("--phonebook", help="Only this phonebook.")},
)


@api_command(contacts_app, "find")
def contacts_find(
    s: Session, number: Annotated[str, typer.Argument(help="A phone number in any notation.")], tenant: TenantOpt
) -> None:
    """Contacts with this number (or ending with its digits)."""
    s.show_items(s.api.contacts.find(tenant, number)["items"], CONTACT)


@api_command(contacts_app, "export")
def contacts_export(s: Session, tenant: TenantOpt, output: OutOpt = None) -> None:
    """Every contact as CSV (the columns the import reads)."""
    _write(s.api.contacts.export_csv(tenant), output)


messages_app = typer.Typer(help="Messages in a voicemail box.", no_args_is_help=True)
MESSAGE = View("message", ("id", "folder", "heard", "caller_number", "caller_name", "duration_ms", "received_at"))
BoxArg = Annotated[str, typer.Argument(help="Voicemail box id.")]
MessageArg = Annotated[str, typer.Argument(help="Message id.")]


@api_command(messages_app, "list")
def messages_list(s: Session, box: BoxArg, tenant: TenantOpt, folder: Str = None) -> None:
    """A box's messages, newest first."""
    page = s.api.voicemail_messages.list(tenant, box, **({"folder": folder} if folder else {}))
    s.show_items(page["items"], MESSAGE)


@api_command(messages_app, "mark")
def messages_mark(
    s: Session,
    box: BoxArg,
    message: MessageArg,
    tenant: TenantOpt,
    heard: Annotated[bool | None, typer.Option("--heard/--unheard", help="Mark heard or not.")] = None,
    folder: Str = None,
) -> None:
    """Mark a message heard/unheard or move it to another folder."""
    body = {k: v for k, v in {"heard": heard, "folder": folder}.items() if v is not None}
    s.show(s.api.voicemail_messages.update(tenant, box, message, body), MESSAGE)


@api_command(messages_app, "download")
def messages_download(s: Session, box: BoxArg, message: MessageArg, tenant: TenantOpt, output: OutOpt = None) -> None:
    """A message's audio (WAV)."""
    _write(s.api.voicemail_messages.audio(tenant, box, message), output)


@api_command(messages_app, "delete")
def messages_delete(s: Session, box: BoxArg, message: MessageArg, tenant: TenantOpt) -> None:
    """Delete a message."""
    s.api.voicemail_messages.delete(tenant, box, message)
    s.done(f"Deleted message {message}")


def register(app: typer.Typer) -> None:
    """Add these command groups to the ``centrex`` application."""
    for name, group in (
        ("inbound-routes", inbound_app),
        ("trunks", trunks_app),
        ("outbound-routes", outbound_app),
        ("caller-id-blocks", cid_app),
        ("dial-plan", dial_plan_app),
        ("routing", routing_app),
        ("ring-groups", ring_app),
        ("pickup-groups", pickup_app),
        ("extension-groups", extgroup_app),
        ("queues", queues_app),
        ("conferences", conf_app),
        ("media", media_app),
        ("moh-classes", moh_app),
        ("phonebooks", phonebooks_app),
        ("contacts", contacts_app),
        ("voicemail-messages", messages_app),
    ):
        app.add_typer(group, name=name)
