"""Dial-plan API schemas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

NumberType = Literal["extension", "ring_group", "queue", "ivr", "conference"]


class UsedNumber(BaseModel):
    number: str
    type: NumberType = Field(description="What the number dials (also the destination type that reaches it).")
    id: str
    name: str


class UsedNumbers(BaseModel):
    count: int
    items: list[UsedNumber]


class FreeNumbers(BaseModel):
    extension_length: int = Field(description="The tenant's extension length: every number listed has it.")
    count: int
    items: list[str]
