"""Dial patterns (Asterisk style) for outbound routes and inbound DID patterns, compiled to regular expressions.

    digits, "+", "*", "#"   themselves
    X  any digit 0-9        Z  1-9        N  2-9        [1-5]  [136]  a digit class
    .  one or more of anything (only at the end)        !  zero or more (only at the end)

A leading ``_`` (Asterisk's marker) is accepted and ignored. ``transform`` strips digits from the front and
prepends others, as outbound routes do before handing a number to a trunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_CLASS = re.compile(r"\[([0-9](?:-[0-9])?)+\]")


class PatternError(ValueError):
    """The text is not a valid dial pattern."""


@dataclass(frozen=True)
class DialPattern:
    text: str
    regex: re.Pattern[str]
    literal_prefix: str

    def match(self, dialled: str) -> bool:
        return self.regex.fullmatch(dialled) is not None


@lru_cache(maxsize=4096)
def compile_pattern(text: str) -> DialPattern:
    src = text[1:] if text.startswith("_") else text
    if not src or len(src) > 64:
        raise PatternError("a pattern has 1 to 64 characters")
    out: list[str] = []
    prefix: list[str] = []
    literal = True
    i = 0
    while i < len(src):
        ch = src[i]
        if ch.isdigit() or ch in "*#":
            out.append(re.escape(ch))
            if literal:
                prefix.append(ch)
        elif ch == "+" and i == 0:
            out.append(r"\+")
            prefix.append("+")
        elif ch in "XZN":
            out.append({"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}[ch])
            literal = False
        elif ch == "[":
            end = src.find("]", i)
            m = _CLASS.fullmatch(src[i : end + 1]) if end > i else None
            if m is None:
                raise PatternError(f"bad digit class at position {i + 1}")
            out.append(src[i : end + 1])
            literal = False
            i = end
        elif ch in ".!":
            if i != len(src) - 1:
                raise PatternError(f"{ch!r} may only end a pattern")
            out.append(".+" if ch == "." else ".*")
            literal = False
        else:
            raise PatternError(f"unexpected {ch!r} at position {i + 1}")
        i += 1
    return DialPattern(text, re.compile("".join(out)), "".join(prefix))


def transform(dialled: str, strip: int = 0, prepend: str = "") -> str:
    """Remove ``strip`` leading characters and put ``prepend`` in front."""
    return prepend + dialled[strip:]


def specificity(text: str) -> tuple[int, int]:
    """Sort key: more literal characters first, then longer patterns (so 911 beats NXX and 1NXX… beats .)."""
    pattern = compile_pattern(text)
    return (-len(pattern.literal_prefix), -len(text))
