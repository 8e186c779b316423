"""A request as the gate judges it, as plain data: what the addon reads off a mitmproxy flow and
what `bottle-launch check` builds from a URL, so both feed the same pipeline the same thing."""

from __future__ import annotations

from dataclasses import dataclass

from egress_gate._policy import ip_literal

STREAM_ABOVE = 4 << 20  # bytes; a larger request body is scanned as it streams, never held whole
_DEFAULT_PORT = {"http": 80, "https": 443}

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Request:
    method: str
    scheme: str  # "https" inside a TLS tunnel, "http" in plain HTTP (or plain HTTP in a tunnel)
    # Where the request was admitted for: the CONNECT host and port inside a tunnel (the address
    # mitmproxy shows as the request's host there is only the one connected to), the URL's in
    # plain HTTP. Normalized.
    host: str
    port: int
    path: str = "/"  # with the query; a fragment never leaves the client
    headers: Headers = ()  # every field as sent, Host included, in order
    body: bytes = b""  # decoded (as scanned); a streamed body is scanned as it arrives instead
    tunnel: bool = False  # came through CONNECT: the TLS SNI and the request's authority count too
    sni: str | None = None  # the client's TLS server name, inside a TLS tunnel
    authority: str = ""  # an absolute-form request target's host[:port], inside a tunnel
    host_header: str | None = None  # Host (HTTP/1) or :authority (HTTP/2), as mitmproxy reads it

    @property
    def url(self) -> str:
        """The URL the DLP scan reads: the admitted name (never the address connected to, so a
        token-shaped host label is seen), the port when it is not the scheme's, and the path."""
        host = f"[{self.host}]" if ":" in self.host and ip_literal(self.host) is not None else self.host
        port = "" if _DEFAULT_PORT.get(self.scheme) == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}"

    @property
    def encoding(self) -> str:
        return (header(self.headers, "content-encoding") or "").strip().lower()

    @property
    def streamed(self) -> bool:
        return streamed(self.headers)


def header(headers: Headers, name: str) -> str | None:
    """The first field called `name` (case-insensitive), or None."""
    wanted = name.lower()
    return next((value for field, value in headers if field.lower() == wanted), None)


def streamed(headers: Headers) -> bool:
    """A chunked body, or one longer than STREAM_ABOVE, is scanned as it streams. (An HTTP/2 body
    without a content-length cannot be told from no body here, so it is buffered.)"""
    length = header(headers, "content-length")
    if length is None:
        return "chunked" in (header(headers, "transfer-encoding") or "").lower()
    try:
        return int(length) > STREAM_ABOVE
    except ValueError:
        return True
