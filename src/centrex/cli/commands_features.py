"""``centrex ivrs``, ``centrex time-conditions`` and ``centrex voicemail-boxes``: list/get/create/update/delete, plus
an IVR's destinations, a schedule's state and office mode, and a mailbox's PIN.

Destinations are given compactly: ``TYPE:ID`` (``queue:que_01…``, ``ivr:ivr_01…``, ``voicemail:vmb_01…``),
``external:+14155550100``, ``hangup``, or a JSON object for anything else (announcements). Weekly hours are
``DAYS HH:MM-HH:MM`` (``mon-fri 09:00-17:00``, ``sat,sun 10:00-14:00``); holidays ``DATE[..END]=NAME``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import typer

from centrex.cli.commands import (
    DataOpt,
    ObjectIdArg,
    Session,
    SetOpt,
    Str,
    TenantOpt,
    View,
    _option,
    api_command,
    build_body,
    tenant_collection_commands,
)
from centrex.client import JSONObject

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TARGET_TYPES = ("extension", "ring_group", "queue", "ivr", "voicemail", "conference", "time_condition")
_HOURS = re.compile(r"^\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")
_HOLIDAY = re.compile(r"^\s*(?P<date>\d{4}-\d{2}-\d{2})(?:\.\.(?P<end>\d{4}-\d{2}-\d{2}))?\s*=\s*(?P<name>.+?)\s*$")


# ------------------------------------------------------------------------------------------- option parsing
def parse_destination(text: str, option: str = "destination") -> JSONObject:
    """``TYPE:ID``, ``external:NUMBER``, ``voicemail`` (own box), ``hangup`` or a JSON object."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise typer.BadParameter(f"not valid JSON: {exc}", param_hint=option) from None
        if not isinstance(value, dict):
            raise typer.BadParameter("must be a JSON object", param_hint=option)
        return value
    kind, _, rest = text.partition(":")
    kind = kind.strip().replace("-", "_")
    if kind == "hangup" and not rest:
        return {"type": "hangup"}
    if kind == "external" and rest:
        return {"type": "external", "number": rest.strip()}
    if kind in _TARGET_TYPES and rest:
        return {"type": kind, "id": rest.strip()}
    raise typer.BadParameter(
        f"{text!r}: use TYPE:ID ({', '.join(_TARGET_TYPES)}), external:NUMBER, hangup or a JSON object",
        param_hint=option,
    )


def parse_options(items: list[str] | None) -> dict[str, JSONObject] | None:
    """``--option 1=queue:que_…`` (repeatable) → the IVR's digit map."""
    if items is None:
        return None
    out: dict[str, JSONObject] = {}
    for item in items:
        key, sep, dest = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(
                f"{item!r}: expected KEY=DESTINATION (e.g. 1=queue:que_01…)", param_hint="--option"
            )
        out[key.strip()] = parse_destination(dest, "--option")
    return out


def _days(spec: str) -> list[str]:
    days: list[str] = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise typer.BadParameter(
                f"{spec!r}: days are {', '.join(DAYS)} (ranges like mon-fri)", param_hint="--hours"
            )
        start, end = DAYS.index(first), DAYS.index(last or first)
        span = range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)]
        days += [DAYS[i] for i in span if DAYS[i] not in days]
    return days


def parse_hours(items: list[str] | None) -> list[JSONObject] | None:
    """``--hours "mon-fri 09:00-17:00"`` (repeatable) → weekly ranges."""
    if items is None:
        return None
    ranges: list[JSONObject] = []
    for item in items:
        match = _HOURS.match(item.lower())
        if match is None:
            raise typer.BadParameter(
                f"{item!r}: expected DAYS HH:MM-HH:MM, e.g. mon-fri 09:00-17:00", param_hint="--hours"
            )
        start, end = (t.zfill(5) for t in (match["start"], match["end"]))
        ranges.append({"days": _days(match["days"]), "start": start, "end": end})
    return ranges


def parse_holidays(dated: list[str] | None, yearly: list[str] | None) -> list[JSONObject] | None:
    """``--holiday 2026-08-03..2026-08-07=Shutdown`` and ``--yearly 2020-12-25=Christmas`` → holidays."""
    if dated is None and yearly is None:
        return None
    out: list[JSONObject] = []
    for items, recurring, hint in ((dated or [], False, "--holiday"), (yearly or [], True, "--yearly")):
        for item in items:
            match = _HOLIDAY.match(item)
            if match is None:
                raise typer.BadParameter(
                    f"{item!r}: expected DATE[..END]=NAME, e.g. 2026-12-25=Christmas", param_hint=hint
                )
            holiday: JSONObject = {"name": match["name"], "date": match["date"], "recurring": recurring}
            if match["end"]:
                holiday["end_date"] = match["end"]
            out.append(holiday)
    return out


def parse_greetings(items: list[str] | None) -> dict[str, str] | None:
    """``--greeting unavailable=med_…`` (repeatable) → the box's greetings."""
    if items is None:
        return None
    out: dict[str, str] = {}
    for item in items:
        kind, sep, media_id = item.partition("=")
        if not sep or not kind.strip() or not media_id.strip():
            raise typer.BadParameter(f"{item!r}: expected KIND=MEDIA_ID", param_hint="--greeting")
        out[kind.strip()] = media_id.strip()
    return out


def _dest(text: str | None, option: str) -> JSONObject | None:
    return parse_destination(text, option) if text is not None else None


# ------------------------------------------------------------------------------------------------------ IVRs
ivrs_app = typer.Typer(help="A tenant's IVRs (auto attendants).", no_args_is_help=True)
IVR = View("IVR", ("id", "name", "number", "greeting_text", "dial_by_name", "timeout", "max_retries"), "IVRs")
DESTINATION = View("destination", ("field", "summary", "is_default"))
tenant_collection_commands(
    ivrs_app,
    lambda api: api.ivrs,
    IVR,
    {
        "name": _option("--name", help="Exact name."),
        "number": _option("--number", help="Exact number."),
        "q": _option("--search", help="Search in name and number."),
    },
)
OptionOpt = Annotated[
    list[str] | None,
    typer.Option("--option", help="KEY=DESTINATION, e.g. 1=queue:que_01… (repeatable; replaces all options)."),
]
TimeoutOpt = Annotated[int | None, typer.Option(help="Seconds to wait for a key (1-60).")]
RetriesOpt = Annotated[int | None, typer.Option("--max-retries", help="Greeting repeats before the exits (1-10).")]
ByExtOpt = Annotated[bool | None, typer.Option("--dial-by-extension/--no-dial-by-extension", help="Direct dialling.")]
ByNameOpt = Annotated[bool | None, typer.Option("--dial-by-name/--no-dial-by-name", help="Name directory.")]
GreetingTextOpt = Annotated[str | None, typer.Option(help="Greeting spoken by text-to-speech.")]
GreetingMediaOpt = Annotated[str | None, typer.Option("--greeting-media", help="Greeting media file id.")]
InvalidMediaOpt = Annotated[str | None, typer.Option("--invalid-media", help="Played on an invalid key (media id).")]
TimeoutDestOpt = Annotated[str | None, typer.Option("--timeout-destination", help="Where calls go after no input.")]
InvalidDestOpt = Annotated[str | None, typer.Option("--invalid-destination", help="Where calls go after bad input.")]


def _ivr_body(
    data: str | None,
    sets: list[str] | None,
    options: list[str] | None,
    timeout_dest: str | None,
    invalid_dest: str | None,
    **fields: Any,
) -> JSONObject:
    return build_body(
        data,
        sets,
        options=parse_options(options),
        timeout_destination=_dest(timeout_dest, "--timeout-destination"),
        invalid_destination=_dest(invalid_dest, "--invalid-destination"),
        **fields,
    )


@api_command(ivrs_app, "create")
def ivrs_create(
    s: Session,
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="Unique name (letters, digits, spaces, _ and -).")],
    number: Str = None,
    greeting_text: GreetingTextOpt = None,
    greeting_media: GreetingMediaOpt = None,
    option: OptionOpt = None,
    dial_by_extension: ByExtOpt = None,
    dial_by_name: ByNameOpt = None,
    timeout: TimeoutOpt = None,
    max_retries: RetriesOpt = None,
    invalid_media: InvalidMediaOpt = None,
    timeout_destination: TimeoutDestOpt = None,
    invalid_destination: InvalidDestOpt = None,
    language: Str = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Create an IVR (it needs --greeting-text or --greeting-media)."""
    body = _ivr_body(
        data,
        set_,
        option,
        timeout_destination,
        invalid_destination,
        name=name,
        number=number,
        greeting_text=greeting_text,
        greeting_media_id=greeting_media,
        dial_by_extension=dial_by_extension,
        dial_by_name=dial_by_name,
        timeout=timeout,
        max_retries=max_retries,
        invalid_media_id=invalid_media,
        language=language,
    )
    s.show(s.api.ivrs.create(tenant, body), IVR)


@api_command(ivrs_app, "update")
def ivrs_update(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    name: Str = None,
    number: Str = None,
    greeting_text: GreetingTextOpt = None,
    greeting_media: GreetingMediaOpt = None,
    option: OptionOpt = None,
    dial_by_extension: ByExtOpt = None,
    dial_by_name: ByNameOpt = None,
    timeout: TimeoutOpt = None,
    max_retries: RetriesOpt = None,
    invalid_media: InvalidMediaOpt = None,
    timeout_destination: TimeoutDestOpt = None,
    invalid_destination: InvalidDestOpt = None,
    language: Str = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Change an IVR (only the given fields; --option replaces the whole digit map)."""
    body = _ivr_body(
        data,
        set_,
        option,
        timeout_destination,
        invalid_destination,
        name=name,
        number=number,
        greeting_text=greeting_text,
        greeting_media_id=greeting_media,
        dial_by_extension=dial_by_extension,
        dial_by_name=dial_by_name,
        timeout=timeout,
        max_retries=max_retries,
        invalid_media_id=invalid_media,
        language=language,
    )
    s.show(s.api.ivrs.update(tenant, object_id, body), IVR)


def _show_destinations(s: Session, listing: JSONObject) -> None:
    if s.json_output:
        s.print_json(listing)
        return
    label = " ".join(str(p) for p in (listing.get("number"), listing.get("name")) if p)
    s.show_items(listing["items"], DESTINATION, caption=f"Destinations of {label} ({listing['id']})")


@api_command(ivrs_app, "destinations")
def ivrs_destinations(s: Session, object_id: ObjectIdArg, tenant: TenantOpt) -> None:
    """Every exit of a menu with the names and numbers of its targets."""
    _show_destinations(s, s.api.ivrs.destinations(tenant, object_id))


# ------------------------------------------------------------------------------------------- time conditions
tc_app = typer.Typer(help="A tenant's time conditions (business hours, holidays, office modes).", no_args_is_help=True)
TIME_CONDITION = View("time condition", ("id", "name", "timezone", "mode", "mode_until", "flow_number"))
STATE = View("state", ())
tenant_collection_commands(
    tc_app,
    lambda api: api.time_conditions,
    TIME_CONDITION,
    {
        "name": _option("--name", help="Exact name."),
        "q": _option("--search", help="Search in the name."),
        "mode": _option("--mode", help="auto, open, closed or holiday."),
        "flow_number": _option("--flow-number", help="Exact flow number."),
    },
)
HoursOpt = Annotated[
    list[str] | None,
    typer.Option("--hours", help='Open hours "DAYS HH:MM-HH:MM", e.g. "mon-fri 09:00-17:00" (repeatable).'),
]
HolidayOpt = Annotated[
    list[str] | None, typer.Option("--holiday", help="DATE[..END]=NAME, e.g. 2026-08-03..2026-08-07=Shutdown.")
]
YearlyOpt = Annotated[
    list[str] | None,
    typer.Option("--yearly", help="A holiday every year: DATE[..END]=NAME, e.g. 2020-12-25=Christmas."),
]
TzOpt = Annotated[str | None, typer.Option(help="IANA time zone (default: the tenant's).")]
ModeOpt = Annotated[str | None, typer.Option(help="auto, open, closed or holiday.")]
UntilOpt = Annotated[str | None, typer.Option(help="End of the forced mode (ISO-8601 with a zone).")]
FlowOpt = Annotated[str | None, typer.Option("--flow-number", help="Flow number (digits) for BLF/flows.")]
OpenOpt = Annotated[str | None, typer.Option("--open", help="Destination while open.")]
ClosedOpt = Annotated[str | None, typer.Option("--closed", help="Destination while closed.")]
HolidayDestOpt = Annotated[
    str | None, typer.Option("--holiday-destination", help="Destination on holidays (default: closed).")
]


def _tc_body(
    data: str | None,
    sets: list[str] | None,
    hours: list[str] | None,
    holiday: list[str] | None,
    yearly: list[str] | None,
    open_: str | None,
    closed: str | None,
    holiday_dest: str | None,
    **fields: Any,
) -> JSONObject:
    return build_body(
        data,
        sets,
        weekly=parse_hours(hours),
        holidays=parse_holidays(holiday, yearly),
        open_destination=_dest(open_, "--open"),
        closed_destination=_dest(closed, "--closed"),
        holiday_destination=_dest(holiday_dest, "--holiday-destination"),
        **fields,
    )


@api_command(tc_app, "create")
def tc_create(
    s: Session,
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="Unique name.")],
    open_: Annotated[str, typer.Option("--open", help="Destination while open (e.g. ivr:ivr_01…).")],
    closed: Annotated[str, typer.Option("--closed", help="Destination while closed (e.g. voicemail:vmb_01…).")],
    holiday_destination: HolidayDestOpt = None,
    timezone: TzOpt = None,
    hours: HoursOpt = None,
    holiday: HolidayOpt = None,
    yearly: YearlyOpt = None,
    flow_number: FlowOpt = None,
    mode: ModeOpt = None,
    mode_until: UntilOpt = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Create a time condition."""
    body = _tc_body(
        data,
        set_,
        hours,
        holiday,
        yearly,
        open_,
        closed,
        holiday_destination,
        name=name,
        timezone=timezone,
        flow_number=flow_number,
        mode=mode,
        mode_until=mode_until,
    )
    s.show(s.api.time_conditions.create(tenant, body), TIME_CONDITION)


@api_command(tc_app, "update")
def tc_update(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    name: Str = None,
    open_: OpenOpt = None,
    closed: ClosedOpt = None,
    holiday_destination: HolidayDestOpt = None,
    timezone: TzOpt = None,
    hours: HoursOpt = None,
    holiday: HolidayOpt = None,
    yearly: YearlyOpt = None,
    flow_number: FlowOpt = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Change a time condition (--hours replaces the weekly hours, --holiday/--yearly all holidays)."""
    body = _tc_body(
        data,
        set_,
        hours,
        holiday,
        yearly,
        open_,
        closed,
        holiday_destination,
        name=name,
        timezone=timezone,
        flow_number=flow_number,
    )
    s.show(s.api.time_conditions.update(tenant, object_id, body), TIME_CONDITION)


@api_command(tc_app, "state")
def tc_state(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    at: Annotated[str | None, typer.Option(help="Instant, ISO-8601 with a zone (default: now).")] = None,
) -> None:
    """Open, closed or holiday at an instant, why, when it changes next, and where calls go."""
    s.show(s.api.time_conditions.state(tenant, object_id, at=at), STATE)


@api_command(tc_app, "mode")
def tc_mode(
    s: Session,
    object_id: ObjectIdArg,
    mode: Annotated[str, typer.Argument(help="open, closed, holiday, or auto to follow the schedule again.")],
    tenant: TenantOpt,
    until: Annotated[str | None, typer.Option(help="End of the override (ISO-8601 with a zone).")] = None,
) -> None:
    """Set the office mode (force a state, optionally until a time) or go back to auto."""
    s.show(s.api.time_conditions.set_mode(tenant, object_id, mode, until=until), TIME_CONDITION)


@api_command(tc_app, "destinations")
def tc_destinations(s: Session, object_id: ObjectIdArg, tenant: TenantOpt) -> None:
    """The open, closed and holiday destinations with the names and numbers of their targets."""
    _show_destinations(s, s.api.time_conditions.destinations(tenant, object_id))


# ------------------------------------------------------------------------------------------- voicemail boxes
vm_app = typer.Typer(help="A tenant's voicemail boxes.", no_args_is_help=True)
BOX = View(
    "voicemail box",
    ("id", "number", "name", "owner_extension_id", "pin_set", "email", "max_messages"),
    "voicemail boxes",
)
tenant_collection_commands(
    vm_app,
    lambda api: api.voicemail_boxes,
    BOX,
    {
        "number": _option("--number", help="Exact mailbox number."),
        "owner_extension_id": _option("--owner", help="Only the box of this extension id."),
        "q": _option("--search", help="Search in number and name."),
    },
)
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Owner extension id (its personal box).")]
BoxPinOpt = Annotated[str | None, typer.Option("--pin", help="PIN, 4-10 digits.")]
GreetingOpt = Annotated[
    list[str] | None,
    typer.Option("--greeting", help="KIND=MEDIA_ID, kinds unavailable, busy, temporary, name (repeatable; replaces)."),
]
ActiveOpt = Annotated[str | None, typer.Option("--active-greeting", help="unavailable, busy or temporary.")]
MaxSecondsOpt = Annotated[int | None, typer.Option("--max-seconds", help="Longest message in seconds (10-3600).")]
MaxMessagesOpt = Annotated[int | None, typer.Option("--max-messages", help="Messages kept (1-10000).")]
EmailOpt = Annotated[str | None, typer.Option(help="E-mail new messages here.")]
AttachOpt = Annotated[bool | None, typer.Option("--attach/--no-attach", help="Attach the audio to the e-mail.")]
EmailDeleteOpt = Annotated[
    bool | None, typer.Option("--delete-after-email/--keep-after-email", help="Delete messages once e-mailed.")
]
TranscribeOpt = Annotated[bool | None, typer.Option("--transcription/--no-transcription", help="Transcribe messages.")]
RetentionOpt = Annotated[int | None, typer.Option("--retention-days", help="Days messages are kept (1-3650).")]
CallerIdOpt = Annotated[bool | None, typer.Option("--play-caller-id/--no-play-caller-id", help="Announce the caller.")]
DateTimeOpt = Annotated[bool | None, typer.Option("--play-datetime/--no-play-datetime", help="Announce the time.")]


@api_command(vm_app, "create")
def vm_create(
    s: Session,
    tenant: TenantOpt,
    number: Annotated[str | None, typer.Option(help="Mailbox number (default: the owner extension's).")] = None,
    name: Annotated[str | None, typer.Option(help="Name (default: the owner extension's).")] = None,
    owner: OwnerOpt = None,
    pin: BoxPinOpt = None,
    greeting: GreetingOpt = None,
    active_greeting: ActiveOpt = None,
    max_seconds: MaxSecondsOpt = None,
    max_messages: MaxMessagesOpt = None,
    email: EmailOpt = None,
    attach: AttachOpt = None,
    delete_after_email: EmailDeleteOpt = None,
    transcription: TranscribeOpt = None,
    retention_days: RetentionOpt = None,
    play_caller_id: CallerIdOpt = None,
    play_datetime: DateTimeOpt = None,
    language: Str = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Create a voicemail box (shared, or the personal box of --owner)."""
    body = build_body(
        data,
        set_,
        number=number,
        name=name,
        owner_extension_id=owner,
        pin=pin,
        greetings=parse_greetings(greeting),
        active_greeting=active_greeting,
        max_message_seconds=max_seconds,
        max_messages=max_messages,
        email=email,
        email_attach=attach,
        email_delete=delete_after_email,
        transcription=transcription,
        retention_days=retention_days,
        play_caller_id=play_caller_id,
        play_datetime=play_datetime,
        language=language,
    )
    s.show(s.api.voicemail_boxes.create(tenant, body), BOX)


@api_command(vm_app, "update")
def vm_update(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    number: Str = None,
    name: Str = None,
    owner: OwnerOpt = None,
    greeting: GreetingOpt = None,
    active_greeting: ActiveOpt = None,
    max_seconds: MaxSecondsOpt = None,
    max_messages: MaxMessagesOpt = None,
    email: EmailOpt = None,
    attach: AttachOpt = None,
    delete_after_email: EmailDeleteOpt = None,
    transcription: TranscribeOpt = None,
    retention_days: RetentionOpt = None,
    play_caller_id: CallerIdOpt = None,
    play_datetime: DateTimeOpt = None,
    language: Str = None,
    data: DataOpt = None,
    set_: SetOpt = None,
) -> None:
    """Change a voicemail box (only the given fields; use `pin` for the PIN)."""
    body = build_body(
        data,
        set_,
        number=number,
        name=name,
        owner_extension_id=owner,
        greetings=parse_greetings(greeting),
        active_greeting=active_greeting,
        max_message_seconds=max_seconds,
        max_messages=max_messages,
        email=email,
        email_attach=attach,
        email_delete=delete_after_email,
        transcription=transcription,
        retention_days=retention_days,
        play_caller_id=play_caller_id,
        play_datetime=play_datetime,
        language=language,
    )
    s.show(s.api.voicemail_boxes.update(tenant, object_id, body), BOX)


@api_command(vm_app, "pin")
def vm_pin(
    s: Session,
    object_id: ObjectIdArg,
    tenant: TenantOpt,
    pin: Annotated[str | None, typer.Option("--pin", help="The new PIN (4-10 digits).")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the box's own PIN.")] = False,
) -> None:
    """Set a box's PIN, or --clear it (a personal box then uses its extension's voicemail PIN)."""
    if (pin is None) == (not clear):
        raise typer.BadParameter("give either --pin or --clear", param_hint="--pin")
    s.show(s.api.voicemail_boxes.set_pin(tenant, object_id, None if clear else pin), BOX)


# ------------------------------------------------------------------------------------------------ registration
def register(app: typer.Typer) -> None:
    """Add the IVR, time-condition and voicemail-box commands to the ``centrex`` app."""
    app.add_typer(ivrs_app, name="ivrs")
    app.add_typer(tc_app, name="time-conditions")
    app.add_typer(vm_app, name="voicemail-boxes")
