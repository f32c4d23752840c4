"""Typed destinations: the one reference type every call-flow object uses ("where does the call go next").

Stored as JSON objects:

    {"type": "extension", "id": "ext_…"}          {"type": "ring_group", "id": "rgp_…"}
    {"type": "queue", "id": "que_…"}               {"type": "ivr", "id": "ivr_…"}
    {"type": "voicemail", "id": "vmb_…", "greeting": "unavailable"|"busy"|"temporary"}
    {"type": "conference", "id": "cnf_…"}          {"type": "time_condition", "id": "tmc_…"}
    {"type": "announcement", "media_id": "med_…", "next": <destination>}
    {"type": "external", "number": "+14155550100"} {"type": "hangup"}

This module is pure: it maps destination types to resource names and extracts references; the API schema and the
existence checks live in ``resources/destinations.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# destination type → resource name (``__resource__`` of the model it points at)
TARGETS: dict[str, str] = {
    "extension": "extension",
    "ring_group": "ring_group",
    "queue": "queue",
    "ivr": "ivr",
    "voicemail": "voicemail_box",
    "conference": "conference",
    "time_condition": "time_condition",
}
TYPES = (*TARGETS, "announcement", "external", "hangup")


def references(dest: dict[str, Any] | None, field: str) -> Iterator[tuple[str, str, str]]:
    """``(field, resource, id)`` for every object a destination (and its nested ``next``) points at."""
    depth = 0
    while dest and depth < 16:
        kind = dest.get("type")
        if kind in TARGETS and dest.get("id"):
            yield field, TARGETS[kind], str(dest["id"])
        if kind == "announcement":
            if dest.get("media_id"):
                yield f"{field}.media_id", "media", str(dest["media_id"])
            dest = dest.get("next")
            field = f"{field}.next"
            depth += 1
            continue
        break


def remap(dest: dict[str, Any] | None, id_map: dict[str, str]) -> dict[str, Any] | None:
    """A copy of ``dest`` with ids replaced through ``id_map``; a reference to an object that was not copied
    becomes ``hangup`` (the copy stays valid and visibly incomplete)."""
    if not dest:
        return dest
    out = dict(dest)
    kind = out.get("type")
    if kind in TARGETS and out.get("id"):
        if out["id"] not in id_map:
            return {"type": "hangup"}
        out["id"] = id_map[out["id"]]
    if kind == "announcement":
        if out.get("media_id") and out["media_id"] not in id_map:
            return remap(out.get("next"), id_map) or {"type": "hangup"}  # the prompt was not copied: skip it
        if out.get("media_id"):
            out["media_id"] = id_map[out["media_id"]]
        out["next"] = remap(out.get("next"), id_map)
    return out
