"""Credentials that travel only where they are declared and never come back; encodings of known
secrets; one target per request; ports. Pure parts: the attacks run in tests/test_attacks_egress.py."""

from __future__ import annotations

import base64
import codecs
import secrets
from urllib.parse import quote

import pytest
from egress_gate._dlp import scan_known
from egress_gate._mask import ResponseMasker, pending_prefix
from egress_gate._policy import check_port, split_authority, target_disagreement
from egress_gate._secrets import KnownSecret, encoded_forms, masks_for, swaps_for

VALUE = "correct-horse-battery-staple-" + secrets.token_hex(8)


def _encodings(value: str) -> dict[str, str]:
    raw = value.encode()
    return {
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "url": quote(value, safe=""),
        "reversed": value[::-1],
        "rot13-control": codecs.encode(value, "rot13"),  # not a form we promise: must NOT match
    }


@pytest.mark.parametrize("shift", [0, 1, 2, 5])
@pytest.mark.parametrize("kind", ["base64", "base64url", "hex", "HEX", "url", "reversed"])
def test_the_usual_encodings_of_a_secret_are_found_inside_longer_text(kind, shift):
    forms = encoded_forms(VALUE)
    if kind.startswith("base64"):
        # Inside a longer encoded text the value sits at any byte alignment.
        encode = base64.b64encode if kind == "base64" else base64.urlsafe_b64encode
        text = encode(b"p" * shift + VALUE.encode() + b"suffix").decode()
    else:
        text = "x" * shift + _encodings(VALUE)[kind] + "y"
    assert scan_known(text, "body", forms), (kind, text)


def test_an_encoding_the_scan_does_not_know_is_not_found():
    # The control: a form outside the list passes, so the test above cannot pass by accident.
    assert scan_known(_encodings(VALUE)["rot13-control"], "body", encoded_forms(VALUE)) == []


def test_a_credential_is_swapped_in_headers_only_unless_it_says_otherwise():
    default = KnownSecret("real-token-value", ("api.example.com",), "TOKEN", "fake-token-value")
    wide = KnownSecret("real-other-value", ("api.example.com",), "OTHER", "fake-other-value", ("headers", "body"))
    known = (default, wide)
    assert swaps_for(known, "api.example.com", "headers") == (
        (b"fake-token-value", b"real-token-value"),
        (b"fake-other-value", b"real-other-value"),
    )
    assert swaps_for(known, "api.example.com", "url") == ()
    assert swaps_for(known, "api.example.com", "body") == ((b"fake-other-value", b"real-other-value"),)
    assert swaps_for(known, "elsewhere.example", "headers") == ()
    assert masks_for(known, "api.example.com") == (
        (b"real-token-value", b"fake-token-value"),
        (b"real-other-value", b"fake-other-value"),
    )
    assert masks_for(known, "elsewhere.example") == ()


def _mask_all(chunks: list[bytes], masks) -> bytes:
    masker = ResponseMasker(masks)
    out = b"".join(piece for chunk in chunks for piece in masker(chunk))
    return out + b"".join(masker(b""))


@pytest.mark.parametrize("size", [1, 3, 7, 16, 1000])
def test_a_response_carries_the_placeholder_wherever_the_value_was_split(size):
    masks = ((b"real-token-value", b"fake-token-value"),)
    body = b"echo: real-token-value, and again real-token-value." * 3
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    out = _mask_all(chunks, masks)
    assert out == body.replace(b"real-token-value", b"fake-token-value") and len(out) == len(body)


def test_masking_holds_back_only_what_could_start_a_value():
    masks = ((b"real-token-value", b"fake-token-value"),)
    masker = ResponseMasker(masks)
    assert masker(b"data: one event\n\n") == [b"data: one event\n\n"]  # forwarded at once
    assert masker(b"data: real-tok") == [b"data: "]
    assert masker(b"en-value\n\n") == [b"fake-token-value\n\n"]
    assert pending_prefix(b"abc real-", (b"real-token",)) == 5


@pytest.mark.parametrize(
    ("authority", "expected"),
    [
        ("tls.test", ("tls.test", None)),
        ("TLS.test.:443", ("tls.test", 443)),
        ("user:pw@tls.test:8443", ("tls.test", 8443)),
        ("tls.test@other.test", ("other.test", None)),
        ("[::1]:443", ("::1", 443)),
        ("tls.test:abc", ("tls.test", -1)),
    ],
)
def test_authorities_are_split_as_a_front_end_would_read_them(authority, expected):
    assert split_authority(authority) == expected


@pytest.mark.parametrize(
    ("sni", "authority", "host_header", "rule"),
    [
        (None, "", None, None),  # HTTP/1.0 with no Host: the tunnel decides
        ("tls.test", "", "tls.test", None),
        ("tls.test", "", "tls.test:443", None),
        ("tls.test", "", "tls.test.", None),
        ("other.test", "", "tls.test", "sni-mismatch"),
        ("tls.test", "other.test", "tls.test", "authority-mismatch"),
        ("tls.test", "tls.test@other.test", "tls.test", "authority-mismatch"),
        ("tls.test", "tls.test:8443", "tls.test", "authority-mismatch"),
        ("tls.test", "tls.test:443", "tls.test", None),
        ("tls.test", "", "other.test", "host-mismatch"),
        ("tls.test", "", "other.test.", "host-mismatch"),
        ("tls.test", "", "tls.test:8443", "host-mismatch"),
    ],
)
def test_every_name_a_request_gives_must_be_its_tunnels(sni, authority, host_header, rule):
    found = target_disagreement("tls.test", 443, sni=sni, authority=authority, host_header=host_header)
    assert (found.rule if found else None) == rule


def test_ports_are_80_and_443_unless_declared_for_the_host():
    assert check_port("tls.test", 443, {}, "b").allowed
    assert check_port("tls.test", 80, {}, "b").allowed
    refused = check_port("tls.test", 22, {}, "b")
    assert not refused.allowed and refused.hint == 'add 22 to bottles.b.egress.ports["tls.test"]'
    assert check_port("git.example.com", 8443, {"*.example.com": (8443,)}, "b").allowed
    assert not check_port("git.example.com", 22, {"*.example.com": (8443,)}, "b").allowed
