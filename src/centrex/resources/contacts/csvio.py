"""Contacts as CSV: the export columns, and import parsing with a header row that maps columns to fields.

Export: one row per contact with the columns of ``COLUMNS``; each number type has its own column (several numbers
of one type, e-mails and tags are joined with ``;``). Cells that a spreadsheet would run as a formula (starting
with ``=``, ``@``, ``+``, ``-``, tab or CR) are prefixed with ``'``, which the import strips again; only a plain
phone number (``+1 (415) 555-0100``: digits, spaces and ``( ) . / * # -``) is left as it is.

Import: the first row is the header; columns are matched by name, case-insensitively, with common aliases
(``First Name``, ``surname``, ``Work Phone``, ``fax``, ``E-mail`` …) and in any order; unknown columns are reported
and ignored. A ``legacy_id`` (or ``peid``) column keeps the integer ids of contacts that come from another system;
the ``id`` column of an export is ignored. The delimiter is ``,``, ``;`` or tab (whichever the header uses most).
Parsing never raises for a bad line: problems are returned per line so the caller can report them all. A line number
is the line a record starts on (a quoted cell may hold line breaks).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from centrex.db.models.contacts import Contact
from centrex.resources.contacts.schemas import EMAIL_TYPES, NUMBER_TYPES

EMAIL_COLUMNS: dict[str, str] = {"email": "work", "email_home": "home", "email_other": "other"}
COLUMNS: tuple[str, ...] = (
    "id",
    "legacy_id",
    "first_name",
    "last_name",
    "company",
    "title",
    *NUMBER_TYPES,
    *EMAIL_COLUMNS,
    "speed_dial",
    "tags",
    "notes",
)
TEXT_FIELDS = ("first_name", "last_name", "company", "title", "speed_dial", "notes")
IGNORED = frozenset({"id", "phonebook_id", "tenant_id", "created_at", "updated_at"})
ALIASES: dict[str, str] = {
    "peid": "legacy_id",
    "legacyid": "legacy_id",
    "firstname": "first_name",
    "first": "first_name",
    "given_name": "first_name",
    "lastname": "last_name",
    "last": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "organization": "company",
    "organisation": "company",
    "company_name": "company",
    "job_title": "title",
    "mobile_phone": "mobile",
    "cell": "mobile",
    "cell_phone": "mobile",
    "phone": "mobile",
    "home_phone": "home",
    "work": "business",
    "work_phone": "business",
    "business_phone": "business",
    "office": "business",
    "fax": "business_fax",
    "work_fax": "business_fax",
    "businessfax": "business_fax",
    "homefax": "home_fax",
    "other_phone": "other",
    "e_mail": "email",
    "email_address": "email",
    "work_email": "email",
    "email_work": "email",
    "home_email": "email_home",
    "other_email": "email_other",
    "speeddial": "speed_dial",
    "tag": "tags",
    "categories": "tags",
    "note": "notes",
    "comments": "notes",
}
KNOWN = frozenset({*COLUMNS, *ALIASES})
_FORMULA = re.compile(r"^[=@+\-\t\r]")
_PLAIN_NUMBER = re.compile(r"^[+-][0-9 ()./*#-]*$")  # no letters or quotes: nothing a spreadsheet could call
_SPLIT = re.compile(r"\s*;\s*")


def _needs_guard(value: str) -> bool:
    return bool(_FORMULA.match(value)) and not _PLAIN_NUMBER.match(value)


def _guard(value: str) -> str:
    """Neutralise a cell a spreadsheet would evaluate (CSV injection)."""
    return "'" + value if _needs_guard(value) else value


def _unguard(value: str) -> str:
    return value[1:] if value.startswith("'") and _needs_guard(value[1:]) else value


def export(contacts: Iterable[Contact]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for c in contacts:
        by_type: dict[str, list[str]] = {t: [] for t in NUMBER_TYPES}
        for n in c.numbers or []:
            by_type.setdefault(str(n.get("type", "other")), []).append(str(n.get("number", "")))
        emails: dict[str, list[str]] = {t: [] for t in EMAIL_TYPES}
        for e in c.emails or []:
            emails.setdefault(str(e.get("type", "work")), []).append(str(e.get("email", "")))
        row = [
            c.id,
            "" if c.legacy_id is None else str(c.legacy_id),
            c.first_name,
            c.last_name,
            c.company,
            c.title,
            *(";".join(by_type[t]) for t in NUMBER_TYPES),
            *(";".join(emails[t]) for t in EMAIL_COLUMNS.values()),
            c.speed_dial or "",
            ";".join(c.tags or []),
            c.notes,
        ]
        writer.writerow([_guard(v) for v in row])
    return out.getvalue()


def _normalise(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lstrip("\ufeff").lower())


@dataclass
class Row:
    line: int
    data: dict[str, Any]  # ContactCreate input without phonebook_id
    origin: dict[str, str]  # "numbers.2" / "emails.0" → the column it came from


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, field, message)
    ignored_columns: list[str] = field(default_factory=list)


class CsvError(ValueError):
    """The file as a whole cannot be read (encoding, no header, no known column, too many rows)."""


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse(data: bytes, *, max_rows: int) -> Parsed:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("the CSV file must be UTF-8 text") from None
    if "\x00" in text:
        raise CsvError("the file is not CSV text (it contains NUL bytes)")
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first), strict=True)
    result = Parsed()
    try:
        header = next(reader)
    except StopIteration:
        raise CsvError("the CSV file is empty (a header row is needed)") from None
    except csv.Error as exc:
        raise CsvError(f"line 1: {exc}") from None
    columns: list[str | None] = []
    for raw in header:
        name = _normalise(raw)
        name = ALIASES.get(name, name)
        if name in COLUMNS and name not in columns and name not in IGNORED:
            columns.append(name)
        else:
            columns.append(None)
            if name not in IGNORED and raw.strip():
                result.ignored_columns.append(raw.strip())
    if not any(columns):
        raise CsvError(
            "the header row names no contact field (expected e.g. first_name, last_name, company, mobile, email)"
        )
    count = 0
    end = reader.line_num  # last line read so far; a record (quoted line breaks) may span several
    try:
        for cells in reader:
            line, end = end + 1, reader.line_num  # the line the record starts on
            if not any(cell.strip() for cell in cells):
                continue
            count += 1
            if count > max_rows:
                raise CsvError(f"more than {max_rows} contacts in one import")
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                result.errors.append((line, "row", f"{len(cells)} values but the header has {len(columns)} columns"))
                continue
            result.rows.append(_row(line, columns, cells))
    except csv.Error as exc:
        raise CsvError(f"line {reader.line_num}: {exc}") from None
    return result


def _row(line: int, columns: list[str | None], cells: list[str]) -> Row:
    data: dict[str, Any] = {}
    numbers: list[dict[str, str]] = []
    emails: list[dict[str, str]] = []
    origin: dict[str, str] = {}
    for name, raw in zip(columns, cells, strict=False):
        if name is None:
            continue
        value = _unguard(raw.strip())
        if not value:
            continue
        if name in NUMBER_TYPES:
            for number in _SPLIT.split(value):
                if number:
                    origin[f"numbers.{len(numbers)}"] = name
                    numbers.append({"type": name, "number": number})
        elif name in EMAIL_COLUMNS:
            for email in _SPLIT.split(value):
                if email:
                    origin[f"emails.{len(emails)}"] = name
                    emails.append({"type": EMAIL_COLUMNS[name], "email": email})
        elif name == "tags":
            data["tags"] = [t for t in re.split(r"\s*[;,]\s*", value) if t]
        elif name == "legacy_id":
            data[name] = int(value) if value.isascii() and value.isdigit() and len(value) < 12 else value
        elif name in TEXT_FIELDS:
            data[name] = value
    if numbers:
        data["numbers"] = numbers
    if emails:
        data["emails"] = emails
    return Row(line, data, origin)


def column_of(row: Row, loc: tuple[Any, ...]) -> str:
    """The CSV column an error location (``numbers.2.number``) came from."""
    if len(loc) >= 2 and loc[0] in ("numbers", "emails"):
        return row.origin.get(f"{loc[0]}.{loc[1]}", str(loc[0]))
    return str(loc[0]) if loc else "row"
