"""Responses from a credential's hosts, with each real value replaced by its placeholder as they
stream, so a service that echoes or stores what it was sent never hands the real value back.

A value and its placeholder have the same length, so no length changes. Only the bytes that
could still become the start of a value are held back for the next chunk: a server-sent event
that cannot end in part of a value is forwarded at once, and streaming stays live."""

from __future__ import annotations

from egress_gate._secrets import Swaps, swap


def pending_prefix(data: bytes, values: tuple[bytes, ...]) -> int:
    """How many bytes at the end of `data` are the start of some value (but not a whole one)."""
    longest = 0
    for value in values:
        for size in range(min(len(value) - 1, len(data)), longest, -1):
            if data.endswith(value[:size]):
                longest = size
                break
    return longest


class ResponseMasker:
    """`flow.response.stream`: called with each chunk, and with b"" at the end of the body."""

    def __init__(self, masks: Swaps) -> None:
        self._masks = masks
        self._values = tuple(value for value, _ in masks)
        self._held = b""

    def __call__(self, chunk: bytes) -> list[bytes]:
        window = swap(self._held + chunk, self._masks)
        hold = 0 if chunk == b"" else pending_prefix(window, self._values)
        out, self._held = window[: len(window) - hold], window[len(window) - hold :]
        # Never return b"" as a chunk: in a chunked body mitmproxy would frame it as the end.
        return [out] if out else []
