"""Which engine the launcher talks to, found as the docker CLI finds it: DOCKER_HOST (with
DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), else DOCKER_CONTEXT, else the current context of the
CLI's config, else the local socket. The `docker` CLI that builds images applies the same rules
to the same environment, so the SDK client and the builds reach one engine.

Nothing of a bottle is read from the engine's filesystem or written to it except through the API
(archives, exec streams), so a remote engine needs no more than this connection."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import docker
import docker.errors
from docker.constants import MINIMUM_DOCKER_API_VERSION
from docker.context import ContextAPI
from docker.context.context import Context

from ...errors import LaunchError

LOCAL_NAMES = ("localhost", "")
LOCAL_SOCKET = "unix:///var/run/docker.sock"  # where docker-py and the CLI look without a host


@dataclass(frozen=True)
class Endpoint:
    url: str  # as the client dials it: unix://, tcp://, ssh://, npipe://
    source: str  # where it came from: "DOCKER_HOST", "context <name>", "the local socket"
    context: str | None = None  # the Docker context it came from, if one

    @property
    def remote(self) -> bool:
        """Whether the engine is on another machine: containers, images and volumes live there."""
        parsed = urlparse(self.url)
        if parsed.scheme in ("unix", "npipe", "fd", ""):
            return False
        host = parsed.hostname or ""
        return parsed.scheme == "ssh" or (host not in LOCAL_NAMES and not _loopback(host))

    def describe(self, info: Mapping[str, Any] | None = None) -> str:
        """One line for the preflight and doctor: which engine (from its `docker info`), where,
        local or remote."""
        name, version = str((info or {}).get("Name") or ""), str((info or {}).get("ServerVersion") or "")
        what = " ".join(part for part in (name, version and f"(Docker {version})") if part)
        where = "remote" if self.remote else "local"
        return f"{what + ' at ' if what else ''}{self.url} ({where}, from {self.source})"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_endpoint(environ: Mapping[str, str] | None = None) -> Endpoint:
    environ = os.environ if environ is None else environ
    if environ.get("DOCKER_HOST"):
        return Endpoint(environ["DOCKER_HOST"], "DOCKER_HOST")
    name = environ.get("DOCKER_CONTEXT") or _current_context_name()
    if name and name != "default":
        context = _context(name)
        return Endpoint(str(context.Host), f"context {name}", name)
    return Endpoint(LOCAL_SOCKET, "the local socket")


def _current_context_name() -> str:
    from docker.context.config import get_current_context_name

    return str(get_current_context_name())


def _context(name: str) -> Context:
    try:
        context = ContextAPI.get_context(name)
    except docker.errors.DockerException as exc:
        raise LaunchError(f"Docker context {name!r} cannot be read: {exc}") from None
    if context is None:
        raise LaunchError(f"Docker context {name!r} does not exist", hint="`docker context ls` lists them")
    return context


def client_for(endpoint: Endpoint, timeout: int) -> docker.DockerClient:
    """An SDK client for `endpoint`: from the environment as docker-py reads it, or from the
    context's host and TLS material (docker-py reads neither DOCKER_CONTEXT nor the CLI's
    current context by itself)."""
    if endpoint.context is None:
        options: dict[str, Any] = docker.utils.kwargs_from_env()
    else:
        context = _context(endpoint.context)
        options = {"base_url": context.Host}
        if context.TLSConfig:
            options["tls"] = context.TLSConfig
    if not options.get("tls"):
        return docker.DockerClient(**options, timeout=timeout, use_ssh_client=False)
    # requests lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (common where a proxy intercepts TLS)
    # replace the engine's CA that docker-py sets (psf/requests#3829): the engine's certificate
    # would be checked against the wrong CAs and refused. So no environment for this session; it
    # must be off before the first request, which is the version docker-py otherwise asks for
    # while the client is made.
    probe = docker.APIClient(**options, timeout=timeout, version=MINIMUM_DOCKER_API_VERSION)
    probe.trust_env = False
    try:
        version = str(probe.version(api_version=False)["ApiVersion"])
    finally:
        probe.close()
    client = docker.DockerClient(**options, timeout=timeout, version=version)
    client.api.trust_env = False
    return client
