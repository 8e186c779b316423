"""Checks and normalisations for single values. Each raises ValueError with a sentence a
user can act on; pydantic attaches the JSON path."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator

from . import _interpolation

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_REPO_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
# A login name as ssh_config(5) and URLs carry it: no whitespace (a newline would start a new
# ssh_config directive), no '-' first (an option), nothing a URL or a config line gives meaning to.
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")
# An alias ("sonnet", "opus[1m]") or a full model id; claude reads it from a settings file.
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/\[\]-]{0,99}\Z")
# An HTTP method is a token (RFC 9110 5.6.2); the gate compares methods upper-cased.
_METHOD = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,32}\Z")

# Key types OpenSSH 9 accepts for host keys; DSA was removed from its defaults.
OPENSSH_HOST_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)


def check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid name; start with a letter or digit and use only letters, "
            "digits, '_', '.' and '-' (at most 63 characters)"
        )
    return value


def check_env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid environment variable name; use letters, digits and '_'")
    return value


def check_env_value(value: str) -> str:
    if not value.startswith("?"):
        _interpolation.parse(value)
    return value


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def _idna(host: str) -> str:
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{host!r} is not a valid host name") from None
    labels = encoded.split(".")
    if len(encoded) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{host!r} is not a valid host name")
    return encoded


def normalize_allow_host(value: str) -> str:
    """Lowercase, IDNA-encode and drop the trailing dot; explain what to write instead."""
    raw = value.strip()
    if "://" in raw:
        suggestion = raw.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
        raise ValueError(f"{value!r} has a scheme; write just the host name, e.g. {suggestion!r}")
    if "/" in raw:
        raise ValueError(f"{value!r} has a path; the allowlist takes host names, e.g. {raw.split('/', 1)[0]!r}")
    if _is_ip(raw):
        raise ValueError(f"{value!r} is an IP address; the allowlist takes host names only")
    if ":" in raw:
        host = raw.rsplit(":", 1)[0]
        raise ValueError(f"{value!r} has a port; every port is allowed, so write just {host!r}")
    host = raw.lower().rstrip(".")
    wildcard = host.startswith("*.")
    if wildcard:
        host = host[2:]
    if "*" in host:
        raise ValueError(f"{value!r}: a wildcard is allowed only as a leading '*.', e.g. '*.example.com'")
    if not host:
        raise ValueError("an empty host name is not allowed")
    encoded = _idna(host)
    if wildcard and "." not in encoded:
        raise ValueError(f"{value!r} would match a whole top-level domain; name a domain below it")
    return f"*.{encoded}" if wildcard else encoded


def check_hostname(value: str) -> str:
    """An SSH `Hostname`: a DNS name or an IP address, as ssh itself accepts."""
    if _is_ip(value):
        return value.strip("[]")
    if "://" in value or "/" in value or ":" in value or "@" in value:
        raise ValueError(f"{value!r} is not a host name; write just the host, without user, scheme or port")
    return _idna(value.lower().rstrip("."))


def check_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None


def check_known_host_key(value: str) -> str:
    """A known_hosts line, `[hosts] keytype base64-key [comment]`, parsed with paramiko."""
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key
    from paramiko.hostkeys import HostKeyEntry

    fields = value.split()
    if fields and fields[0].startswith("@"):
        raise ValueError(f"markers such as {fields[0]!r} are not supported; give the plain host key line")
    if len(fields) == 2:
        hosts, key_type, key_b64 = None, fields[0], fields[1]
    elif len(fields) >= 3:
        hosts, key_type, key_b64 = fields[0], fields[1], fields[2]
    else:
        raise ValueError("expected a known_hosts line: '[host] keytype base64-key'")
    if key_type not in OPENSSH_HOST_KEY_TYPES:
        allowed = ", ".join(sorted(OPENSSH_HOST_KEY_TYPES))
        raise ValueError(f"key type {key_type!r} is not one OpenSSH accepts; use one of: {allowed}")
    try:
        blob = base64.b64decode(key_b64, validate=True)
    except binascii.Error:
        raise ValueError("the key is not valid base64") from None
    # The blob names its own type; a mismatch means a key pasted from another line.
    name_len = int.from_bytes(blob[:4], "big")
    if blob[4 : 4 + name_len] != key_type.encode():
        raise ValueError(f"the key data is not a {key_type} key")
    if not key_type.startswith("sk-"):  # neither library knows security-key host key types
        try:
            entry = HostKeyEntry.from_line(f"pinned {key_type} {key_b64}")
            # paramiko accepts some truncated keys; cryptography's parser checks the lengths.
            load_ssh_public_key(f"{key_type} {key_b64}".encode())
        except Exception:  # both raise assorted errors on malformed key data
            entry = None
        if entry is None:
            raise ValueError(f"the {key_type} key data does not parse")
    return " ".join(part for part in (hosts, key_type, key_b64) if part)


def check_repo(value: str) -> str:
    """`owner/name` (groups allowed), with an optional `.git` that is dropped."""
    path = value.strip("/")
    path = path[:-4] if path.endswith(".git") else path
    segments = path.split("/")
    if len(segments) < 2 or not all(_REPO_SEGMENT.match(s) and s not in (".", "..") for s in segments):
        raise ValueError(f"{value!r} is not a repository path; write 'owner/name'")
    return path


def check_cidr(value: str) -> str:
    """An address range such as `172.18.0.0/16`, or one address (a /32 or /128)."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError as exc:
        if "has host bits set" in str(exc):
            network = ipaddress.ip_network(value.strip(), strict=False)
            raise ValueError(f"{value!r} has host bits set; write the range as {str(network)!r}") from None
        raise ValueError(f"{value!r} is not an address range; write e.g. '10.1.0.0/16' or '192.0.2.7/32'") from None


def check_skill(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{value!r} is not a skill name; skills are folder names without '/'")
    return value


def check_user(value: str) -> str:
    if not _USER.match(value):
        raise ValueError(
            f"{value!r} is not a user name; use letters, digits, '_', '.' and '-' (not first), at most 64 "
            "characters, no spaces or newlines"
        )
    return value


def check_model(value: str) -> str:
    if not _MODEL.match(value):
        raise ValueError(
            f"{value!r} is not a model name; give an alias such as 'sonnet' or 'opus', or a full model id "
            "such as 'claude-sonnet-4-5' (letters, digits and '-._:@/[]', no spaces)"
        )
    return value


def check_method(value: str) -> str:
    """An HTTP method, stored upper-case: the gate compares methods case-insensitively."""
    if not _METHOD.match(value):
        raise ValueError(f"{value!r} is not an HTTP method; write a name such as 'GET' or 'POST'")
    return value.upper()


def normalize_path_pattern(value: str) -> str:
    """A method-and-path rule's path pattern: `/`-separated segments, each literal, `*` (one whole
    segment) or, last, `**` (any rest). It is matched against the request's path after
    percent-decoding and dot-segment removal, so it is written decoded and without dot segments;
    one trailing slash is dropped, as the gate ignores one in the request too."""
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not a path pattern; start it with '/', e.g. '/repos/acme/*'")
    for char, why in (("?", "the query"), ("#", "the fragment")):
        if char in value:
            raise ValueError(f"{value!r} has {char!r}: {why} is not matched, write only the path")
    if "%" in value:
        raise ValueError(f"{value!r} has '%': patterns match the decoded path, so write the character itself")
    if "\\" in value:
        raise ValueError(f"{value!r} has a backslash: the gate reads one in a request as '/', so write '/'")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise ValueError(f"{value!r} has a control character")
    pattern = value[:-1] if len(value) > 1 and value.endswith("/") else value
    segments = pattern.split("/")[1:] if pattern != "/" else []
    for index, segment in enumerate(segments):
        if segment == "":
            raise ValueError(f"{value!r} has an empty segment ('//'); the gate refuses such request paths")
        if segment in (".", ".."):
            raise ValueError(f"{value!r} has a {segment!r} segment; request paths are matched with those resolved")
        if segment == "**" and index != len(segments) - 1:
            raise ValueError(f"{value!r}: '**' (any rest of the path) may only be the last segment")
        if "*" in segment and segment not in ("*", "**"):
            raise ValueError(f"{value!r}: '*' stands for a whole segment, e.g. '/repos/*', not for part of one")
    return pattern


Name = Annotated[str, AfterValidator(check_name)]
ModelName = Annotated[str, AfterValidator(check_model)]
UserName = Annotated[str, AfterValidator(check_user)]
EnvName = Annotated[str, AfterValidator(check_env_name)]
EnvValue = Annotated[str, AfterValidator(check_env_value)]
AllowHost = Annotated[str, AfterValidator(normalize_allow_host)]
HttpMethod = Annotated[str, AfterValidator(check_method)]
PathPattern = Annotated[str, AfterValidator(normalize_path_pattern)]
Hostname = Annotated[str, AfterValidator(check_hostname)]
IPAddress = Annotated[str, AfterValidator(check_ip)]
KnownHostKey = Annotated[str, AfterValidator(check_known_host_key)]
RepoPath = Annotated[str, AfterValidator(check_repo)]
SkillName = Annotated[str, AfterValidator(check_skill)]
Cidr = Annotated[str, AfterValidator(check_cidr)]
