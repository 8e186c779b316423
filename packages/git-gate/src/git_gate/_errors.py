"""The scan's one error: whatever it is (git failing, the scanner failing, a push over budget),
the push is refused whole and nothing goes upstream."""

from __future__ import annotations


class ScanError(Exception):
    pass
