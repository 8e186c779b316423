"""A large or unknown-length request body, scanned as it streams instead of being held whole.

Each chunk is scanned together with the end of the one before it (OVERLAP bytes), so a secret of
up to OVERLAP bytes is found even when it straddles a chunk boundary. For a body sent as-is, those
OVERLAP bytes are also held back until the next chunk has been scanned, so not even the start of
such a secret leaves the gate before its verdict; placeholders are swapped inside the same
window, which keeps the body's length. A compressed body is scanned decompressed and forwarded
as it came (a placeholder inside it is not swapped).

Each window is judged by the body step (`_content.scan_text`, as a whole body and a WebSocket
message are). A refusal stops the body (unless `on_refusal` answers False, as report mode does):
nothing more is forwarded and the upstream connection is closed before the request completes, so
the upstream never acts on it."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

from egress_gate._policy import Step
from egress_gate._secrets import swap

OVERLAP = 4096
_PIECE = 1 << 20  # decompress in bounded pieces: a small gzip chunk may inflate enormously

Scan = Callable[[str], Step]  # the body step over one window of text
# zlib's window bits for each content-encoding scanned decompressed (16+: a gzip header)
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class _Inflater:
    def __init__(self, encoding: str) -> None:
        self._z = zlib.decompressobj(_WBITS[encoding])

    def feed(self, data: bytes) -> Iterator[bytes]:
        """One bounded piece at a time, each scanned and dropped before the next is inflated."""
        yield self._z.decompress(data, _PIECE)
        while self._z.unconsumed_tail:
            yield self._z.decompress(self._z.unconsumed_tail, _PIECE)
        if not data:  # the end of the body: whatever zlib still holds
            yield self._z.flush()


def inflatable(encoding: str) -> bool:
    return encoding in ("", "identity") or encoding in _WBITS


class UploadScanner:
    """`flow.request.stream`: called with each chunk, and with b"" at the end of the body."""

    def __init__(
        self,
        scan: Scan,
        on_refusal: Callable[[Step], bool],
        encoding: str = "",
        swaps: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self.refusal: Step | None = None  # the first window the body step refused
        self.judged: Step | None = None  # the body step's answer so far: its refusal, or its last clean window
        self._stopped = False
        self.size = 0
        self._scan = scan
        self._on_refusal = on_refusal
        self._swaps = swaps
        self._inflater = _Inflater(encoding) if encoding not in ("", "identity") else None
        self._hold = max([OVERLAP, *(len(p) for p, _ in swaps)])
        self._held = b""  # identity bodies: the window's tail, not yet forwarded
        self._tail = ""  # compressed bodies: the decoded tail, scanned again with the next piece

    def __call__(self, chunk: bytes) -> list[bytes]:
        # Never return b"" as a chunk: in a chunked body mitmproxy would frame it as the end.
        if self._stopped:
            return []
        self.size += len(chunk)
        end = chunk == b""
        if self._inflater is None:
            window = self._held + chunk
            if self._check(window.decode("latin-1")):
                return []
            window = swap(window, self._swaps)
            cut = len(window) if end else max(0, len(window) - self._hold)
            out, self._held = window[:cut], window[cut:]
            return [out] if out else []
        for piece in self._inflater.feed(chunk):
            text = self._tail + piece.decode("latin-1")
            if self._check(text):
                return []
            self._tail = text[-OVERLAP:]
        return [chunk] if chunk else []

    def _check(self, text: str) -> bool:
        """True when the body must stop here. `on_refusal` says so; in report mode it does not,
        and the rest of the body passes unscanned (one would-block line is enough)."""
        if self.refusal is not None:
            return False
        step = self.judged = self._scan(text)
        if step.allowed:
            return False
        self.refusal = step
        if not self._on_refusal(step):
            return False
        self._stopped = True
        self._held = b""
        return True
