"""Telephone numbers: normalise to E.164 at the edge with ``phonenumbers``."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "US"


class InvalidNumber(ValueError):
    """The text is not a valid telephone number."""


def normalize(value: str, region: str | None = DEFAULT_REGION) -> str:
    """Return the E.164 form (``+15551234567``) of ``value`` or raise ``InvalidNumber``.

    National forms are read in ``region`` (default US/NANP); a leading ``+`` or ``00`` is international.
    """
    text = value.strip()
    if not text or len(text) > 32:
        raise InvalidNumber("not a telephone number")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(str(exc)) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber("not a valid telephone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national(e164: str) -> str:
    """The national significant number (``5551234567`` for ``+15551234567``)."""
    parsed = phonenumbers.parse(e164, None)
    return str(phonenumbers.national_significant_number(parsed))
