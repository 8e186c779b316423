"""Build an image with the docker CLI: BuildKit is needed for the optional CA build secret, and
the Python SDK only drives the legacy builder."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
from bottle_contract import agent, egress, git, ssh

from ..errors import LaunchError
from ._context import ImageContext, image_context

DEFAULT_BASE_IMAGE = "debian:trixie-slim"
# Upgrading Claude Code: the agent image's build argument, from this host variable. Build
# arguments are part of an image's tag, so a new version is a new image, built at the next launch.
CLAUDE_CODE_VERSION_VAR = "BOTTLE_CLAUDE_CODE_VERSION"
# What each Dockerfile takes from the contract instead of writing it down a second time.
CONTRACT_ARGS: dict[str, dict[str, str]] = {
    "agent": {
        "AGENT_UID": str(agent.UID),
        "AGENT_HOME": agent.HOME,
        "WORKDIR": agent.WORKDIR,
        "CLAUDE_DIR": agent.CLAUDE_DIR,
    },
    "egress": {"GATE_UID": str(egress.UID), "GATE_PORT": str(egress.PORT)},
    "ssh-gate": {"GATE_UID": str(ssh.UID)},
    "git-gate": {"GATE_UID": str(git.UID), "BASE_PATH": git.BASE_PATH, "IMPORT_DIR": git.IMPORT_DIR},
}


@dataclass(frozen=True)
class BuildOptions:
    base_image: str | None = None  # overrides each Dockerfile's ARG BASE_IMAGE
    build_ca: Path | None = None  # CA bundle for downloads during the build only
    extra_args: dict[str, str] = field(default_factory=dict)
    claude_code_version: str | None = None  # the agent image's; None keeps its Dockerfile's pin

    @classmethod
    def from_env(cls) -> BuildOptions:
        ca = os.environ.get("BOTTLE_BUILD_CA")
        return cls(
            base_image=os.environ.get("BOTTLE_BASE_IMAGE") or None,
            build_ca=Path(ca) if ca else None,
            claude_code_version=os.environ.get(CLAUDE_CODE_VERSION_VAR) or None,
        )


def _buildkit_cli() -> list[str]:
    """A docker CLI that can run BuildKit: one with buildx, or a pre-23 client with it built in."""
    candidates = [c for c in (os.environ.get("BOTTLE_DOCKER_CLI"), shutil.which("docker"), "/usr/bin/docker") if c]
    for cli in dict.fromkeys(candidates):
        if not Path(cli).exists() and not shutil.which(cli):
            continue
        if subprocess.run([cli, "buildx", "version"], capture_output=True).returncode == 0:
            return [cli, "buildx", "build", "--load"]
        version = subprocess.run([cli, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True)
        major = version.stdout.strip().split(".", 1)[0]
        if major.isdigit() and int(major) < 23:
            return [cli, "build"]
    raise LaunchError(
        "no docker CLI with BuildKit found (needed to build the bottle images)",
        hint="install the docker buildx plugin, or set BOTTLE_DOCKER_CLI to a docker client that has it",
    )


def _base_image_id(client: docker.DockerClient, base: str | None) -> str:
    if not base:
        return ""
    try:
        return client.images.get(base).id or ""
    except docker.errors.ImageNotFound:
        return ""


def _build_args(options: BuildOptions, name: str) -> dict[str, str]:
    args = {**CONTRACT_ARGS.get(name, {}), **options.extra_args}
    if options.base_image:
        args["BASE_IMAGE"] = options.base_image
    if name == "agent" and options.claude_code_version:
        args["CLAUDE_CODE_VERSION"] = options.claude_code_version
    return args


def _context(client: docker.DockerClient, name: str, options: BuildOptions) -> ImageContext:
    # The base image's id is hashed too, so a rebuilt base (a new debootstrap) rebuilds ours.
    base_id = _base_image_id(client, options.base_image or DEFAULT_BASE_IMAGE)
    return image_context(name, {**_build_args(options, name), "base-id": base_id})


def offline_tag(name: str, options: BuildOptions) -> str:
    """The tag from the build context and arguments alone, without an engine: `image_tag` also
    hashes the base image's id, which only an engine knows, so the two differ. For images that
    are built elsewhere and pushed under this name (`bottle-launch render kubernetes`)."""
    return image_context(name, _build_args(options, name)).tag()


def image_tag(client: docker.DockerClient, name: str, options: BuildOptions) -> str:
    """The tag the image has (or will have once built) for these inputs."""
    return _context(client, name, options).tag()


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def ensure_image(
    client: docker.DockerClient,
    name: str,
    options: BuildOptions,
    progress: Callable[[str], None] = lambda line: None,
) -> str:
    """Return the image's tag, building it first when no image has that tag."""
    context = _context(client, name, options)
    tag = context.tag()
    if image_exists(client, tag):
        return tag
    args = _build_args(options, name)
    command = [*_buildkit_cli(), "--progress=plain", "-t", tag]
    for key, value in args.items():
        command += ["--build-arg", f"{key}={value}"]
    if options.build_ca:
        if not options.build_ca.is_file():
            raise LaunchError(f"build CA bundle {options.build_ca} does not exist")
        command += ["--secret", f"id=hostca,src={options.build_ca}"]
    command.append("-")
    progress(f"building image {tag}")
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(context.tar)
    proc.stdin.close()
    tail: list[str] = []
    for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip()
        tail = [*tail[-39:], line]
        progress(line)
    if proc.wait() != 0:
        raise LaunchError(f"building image {name} failed:\n" + "\n".join(tail))
    return tag
