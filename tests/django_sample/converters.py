"""Custom path converters, registered by the URLconf."""

from __future__ import annotations


class FourDigitYearConverter:
    """Django's documentation example: the text "0012" becomes the int 12."""

    regex = "[0-9]{4}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return f"{value:04d}"


class HexConverter:
    """Lower-case hexadecimal ids, kept as text."""

    regex = "[0-9a-f]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
