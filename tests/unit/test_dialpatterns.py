"""Dial patterns: matching, validation, transform."""

from __future__ import annotations

import pytest

from centrex.domain.dialpatterns import PatternError, compile_pattern, specificity, transform


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        ("NXXNXXXXXX", ["4155550100"], ["1415555010", "415555010", "0155550100"]),
        ("1NXXNXXXXXX", ["14155550100"], ["4155550100"]),
        ("_9.", ["91", "9011441234"], ["9", "8123"]),
        ("011.", ["01144207946"], ["011"]),
        ("911", ["911"], ["9111", "91"]),
        ("+1[2-9]XX!", ["+1415", "+14155550100"], ["+1015", "1415"]),
        ("*7[0-9]", ["*71"], ["*7", "*711"]),
    ],
)
def test_matching(pattern: str, yes: list[str], no: list[str]) -> None:
    compiled = compile_pattern(pattern)
    assert all(compiled.match(d) for d in yes)
    assert not any(compiled.match(d) for d in no)


@pytest.mark.parametrize("bad", ["", "9.1", "12a", "[a-z]", "[12", "X" * 65, "9!9", "1+2"])
def test_invalid(bad: str) -> None:
    with pytest.raises(PatternError):
        compile_pattern(bad)


def test_transform_and_specificity() -> None:
    assert transform("914155550100", strip=1) == "14155550100"
    assert transform("4155550100", prepend="+1") == "+14155550100"
    ordered = sorted(["NXXNXXXXXX", "911", "9.", "1NXXNXXXXXX"], key=specificity)
    assert ordered[0] == "911" and ordered[-1] == "NXXNXXXXXX"
