"""CDRs as CSV: one row per call, the columns of ``COLUMNS``, times ISO-8601 UTC.

Cells a spreadsheet would run as a formula are neutralised with the contacts export's guard (a leading ``'``);
plain phone numbers such as ``+14155550100`` are left as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime

from centrex.db.models.cdr import Cdr
from centrex.resources.contacts.csvio import _guard as guard  # the one CSV-injection guard of the API

COLUMNS: tuple[str, ...] = (
    "id",
    "call_id",
    "direction",
    "caller_number",
    "caller_name",
    "callee_number",
    "did",
    "extension_id",
    "trunk_id",
    "started_at",
    "answered_at",
    "ended_at",
    "duration_seconds",
    "billable_seconds",
    "disposition",
    "hangup_cause",
    "hangup_by",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def export(cdrs: Iterable[Cdr]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for cdr in cdrs:
        writer.writerow([guard(_cell(getattr(cdr, name))) for name in COLUMNS])
    return out.getvalue()
