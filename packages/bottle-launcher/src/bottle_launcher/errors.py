from __future__ import annotations


class LaunchError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
