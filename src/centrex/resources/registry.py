"""Finds the resource slices: every ``centrex.resources.<name>.router`` module with a ``router`` attribute.

A slice may also define ``TAG = {"name": …, "description": …}`` for the OpenAPI document. Slices are mounted in a
stable order (foundation slices first, then alphabetical), so adding a slice never means editing the app factory.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any

import centrex.resources

FIRST = ("auth", "tenants", "users", "api_keys", "extensions", "devices", "numbers")


def router_modules() -> list[ModuleType]:
    names = sorted(m.name for m in pkgutil.iter_modules(centrex.resources.__path__) if m.ispkg)
    ordered = [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]
    modules = []
    for name in ordered:
        try:
            module = importlib.import_module(f"centrex.resources.{name}.router")
        except ModuleNotFoundError as exc:
            if exc.name != f"centrex.resources.{name}.router":
                raise
            continue
        if hasattr(module, "router"):
            modules.append(module)
    return modules


def tags() -> list[dict[str, Any]]:
    return [m.TAG for m in router_modules() if isinstance(getattr(m, "TAG", None), dict)]
