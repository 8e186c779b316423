"""The streamed-upload scanner and the credential swap, as pure functions. Their use by the
addon is tested end to end (tests/test_egress_gate.py)."""

from __future__ import annotations

import gzip
import os

import pytest
from egress_gate._dlp import scan_known, scan_patterns
from egress_gate._policy import Step
from egress_gate._secrets import KnownSecret, swap, swaps_for
from egress_gate._upload import OVERLAP, UploadScanner

AWS = "AKIA" + "Z7Q2RXK4LPN3T6VW"


def scanner(encoding: str = "", swaps=(), stop: bool = True) -> tuple[UploadScanner, list]:
    found: list = []

    def scan(text: str) -> Step:
        hits = scan_patterns(text, "body") + scan_known(text, "body", ["bottle-secret-value"])
        return Step("body", False, f"dlp:{hits[0].rule}") if hits else Step("body", True, "clean")

    def on_refusal(step: Step) -> bool:
        found.append(step)
        return stop

    return UploadScanner(scan, on_refusal, encoding, swaps), found


def feed(upload: UploadScanner, body: bytes, size: int) -> bytes:
    out = b""
    for start in range(0, len(body), size):
        out += b"".join(upload(body[start : start + size]))
    return out + b"".join(upload(b""))


def test_a_clean_body_passes_byte_for_byte():
    body = os.urandom(300_000).hex().encode()
    upload, found = scanner()
    assert feed(upload, body, 65536) == body
    assert found == []


@pytest.mark.parametrize("offset", [0, 1, 7, 19, 65535 - 10, 65535])
def test_a_secret_across_a_chunk_boundary_is_found_and_none_of_it_forwarded(offset):
    body = b"a" * offset + b" " + AWS.encode() + b" " + b"b" * 200_000
    upload, found = scanner()
    out = feed(upload, body, 65536 - 9)  # chunk edges fall inside the key for some offsets
    assert [f.rule for f in found] == ["dlp:aws-access-key-id"]
    assert AWS[:4].encode() not in out  # not even its start left before the verdict
    assert len(out) < len(body)


def test_report_mode_logs_the_finding_once_and_lets_the_body_through():
    body = b"a" * 100_000 + f" {AWS} ".encode() + b"b" * 100_000 + f" {AWS} ".encode()
    upload, found = scanner(stop=False)
    assert feed(upload, body, 4096) == body
    assert [f.rule for f in found] == ["dlp:aws-access-key-id"]


def test_a_known_secret_split_across_tiny_chunks_is_found():
    upload, found = scanner()
    feed(upload, b"x" * 5000 + b"bottle-secret-value" + b"y" * 5000, 3)
    assert [f.rule for f in found] == ["dlp:bottle-secret"]


def test_a_gzip_body_is_scanned_decompressed_and_forwarded_as_sent():
    clean = gzip.compress(os.urandom(100_000).hex().encode())
    upload, found = scanner("gzip")
    assert feed(upload, clean, 4096) == clean and found == []
    dirty = gzip.compress(b"z" * 500_000 + f" {AWS} ".encode() + b"z" * 500_000)
    upload, found = scanner("gzip")
    feed(upload, dirty, 1000)
    assert [f.rule for f in found] == ["dlp:aws-access-key-id"]


def test_placeholders_are_swapped_across_boundaries_and_the_length_kept():
    placeholder, real = b"PLACEHOLDER-0123456789", b"realsecret-9876543210x"
    body = (b"q" * 1000 + placeholder) * 50
    upload, found = scanner(swaps=((placeholder, real),))
    out = feed(upload, body, 997)
    assert out == body.replace(placeholder, real) and len(out) == len(body) and found == []


def test_secrets_longer_than_the_overlap_are_a_stated_limit():
    assert OVERLAP >= 4096  # the README promises tokens up to 4 KiB across boundaries


def test_a_credential_is_swapped_only_for_its_own_hosts():
    known = (
        KnownSecret("real-token-value", ("api.example.com",), "TOKEN", "fake-token-value"),
        KnownSecret("plain-value-123", ("*",)),
    )
    assert swaps_for(known, "api.example.com") == ((b"fake-token-value", b"real-token-value"),)
    assert swaps_for(known, "other.example.com") == ()
    assert swap(b"Bearer fake-token-value", swaps_for(known, "api.example.com")) == b"Bearer real-token-value"
    assert {"real-token-value", "fake-token-value"} <= set(known[0].forms)
    assert "plain-value-123" in known[1].forms and "real-token-value" not in known[1].forms


def test_pipelock_log_lines_become_our_decision_lines():
    from egress_gate.pipelock import decision_from

    blocked = {"level": "warn", "event": "blocked", "url": "https://x.example/a?t=secret", "method": "GET",
               "scanner": "dlp", "reason": "DLP: GitHub Token", "transport": "forward"}  # fmt: skip
    fields = decision_from(blocked, "dev")
    assert fields == {
        "bottle": "dev",
        "method": "GET",
        "host": "x.example",
        "path": "/a",
        "decision": "block",
        "rule": "pipelock:dlp:DLP: GitHub Token",
        "hint": None,
    }
    refused = decision_from({"event": "blocked", "url": "https://y.example/", "scanner": "allowlist"}, "dev")
    assert refused["hint"] == 'add "y.example" to bottles.dev.egress.allowlist'
    assert decision_from({"level": "info", "msg": "listening"}, "dev") is None
