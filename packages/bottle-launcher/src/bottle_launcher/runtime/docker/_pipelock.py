"""The pipelock engine's image: ours, with the binary from the pipelock image the user names."""

from __future__ import annotations

import dataclasses
import os

import docker
import docker.errors

from ...egress import PIPELOCK_IMAGE_VAR
from ...errors import LaunchError
from ...images import BuildOptions


def pipelock_build(client: docker.DockerClient, build: BuildOptions, egress_tag: str) -> BuildOptions:
    reference = os.environ.get(PIPELOCK_IMAGE_VAR, "").strip()
    if not reference:
        raise LaunchError(
            f'egress.backend is "pipelock", but {PIPELOCK_IMAGE_VAR} names no pipelock image',
            hint=f"export {PIPELOCK_IMAGE_VAR}=ghcr.io/luckypipewrench/pipelock:<version> (release 2.3 is the one "
            "the generated config is checked against)",
        )
    try:
        image = client.images.get(reference)
    except docker.errors.ImageNotFound:
        try:
            image = client.images.pull(reference)
        except docker.errors.APIError as exc:
            raise LaunchError(
                f"{PIPELOCK_IMAGE_VAR}={reference}: not here and not pullable: {exc.explanation}"
            ) from None
    args = {"PIPELOCK_IMAGE": reference, "EGRESS_IMAGE": egress_tag, "PIPELOCK_ID": image.id or ""}
    return dataclasses.replace(build, extra_args={**build.extra_args, **args})
