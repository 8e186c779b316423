"""The bottle's own secrets, handed to the gate at launch (a tmpfs file, never its config).

A plain env value may go to any allowlisted host (`*`). A credential is a value the agent never
held: the agent has a same-length placeholder, and only requests to the credential's hosts get
the real value swapped in: by default only in request headers (swapping in a URL or a body is a
credential's explicit choice, `swap_in`), so a service that echoes or stores what it receives
cannot hand the real value back. Responses from a credential's hosts carry the placeholder where
the real value was. Both forms of a credential, and their usual encodings, are recognised
anywhere else and refused."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

from bottle_contract import egress

from egress_gate._policy import match

SWAP_PLACES = egress.SWAP_PLACES
MIN_FORM = 8  # shorter forms could match ordinary text


def encoded_forms(value: str) -> tuple[str, ...]:
    """`value` as an agent might smuggle it: verbatim, reversed, hex, URL-encoded, and base64 or
    base64url at each of the three byte alignments it can have inside a longer encoded text (only
    the characters that depend on the value alone, so it is found wherever it sits)."""
    raw = value.encode()
    forms = {value, value[::-1], raw.hex(), raw.hex().upper(), quote(value, safe=""), quote_plus(value)}
    for shift in range(3):
        start, end = -(-4 * shift // 3), 4 * (shift + len(raw)) // 3
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(b"\0" * shift + raw).decode()[start:end])
    return tuple(sorted(form for form in forms if len(form) >= MIN_FORM))


@dataclass(frozen=True)
class KnownSecret(egress.KnownSecret):
    """An entry of the handed-over file (bottle_contract.egress.KnownSecret: value, hosts, name,
    placeholder, swap_in), with what the gate asks of it."""

    def may_go_to(self, host: str) -> bool:
        return "*" in self.hosts or match(host, self.hosts) is not None

    @property
    def forms(self) -> tuple[str, ...]:
        """Every form the scan looks for: each value and its encodings."""
        values = (self.value, self.placeholder) if self.placeholder else (self.value,)
        return tuple(form for value in values for form in encoded_forms(value))


def parse_known(data: bytes | str) -> tuple[KnownSecret, ...]:
    """The known secrets as the launcher wrote them (bottle_contract.egress.known_to_json)."""
    return tuple(KnownSecret(k.value, k.hosts, k.name, k.placeholder, k.swap_in) for k in egress.known_from_json(data))


def load_known(path: Path) -> tuple[KnownSecret, ...]:
    return parse_known(path.read_bytes()) if path.exists() else ()


Swaps = tuple[tuple[bytes, bytes], ...]


def swaps_for(known: tuple[KnownSecret, ...], host: str, place: str = "headers") -> Swaps:
    """(placeholder, real value) for each credential that `host` may receive in `place`."""
    return tuple(
        (k.placeholder.encode(), k.value.encode())
        for k in known
        if k.placeholder and place in k.swap_in and k.may_go_to(host)
    )


def masks_for(known: tuple[KnownSecret, ...], host: str) -> Swaps:
    """(real value, placeholder) for each credential `host` may receive: what its responses
    carry instead of the real value, wherever the request had it."""
    return tuple((k.value.encode(), k.placeholder.encode()) for k in known if k.placeholder and k.may_go_to(host))


def swap(data: bytes, swaps: tuple[tuple[bytes, bytes], ...]) -> bytes:
    for placeholder, value in swaps:
        data = data.replace(placeholder, value)
    return data


def swap_text(text: str, swaps: tuple[tuple[bytes, bytes], ...]) -> str:
    for placeholder, value in swaps:
        text = text.replace(placeholder.decode(), value.decode())
    return text
