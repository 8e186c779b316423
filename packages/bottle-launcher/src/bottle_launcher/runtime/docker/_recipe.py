"""Build arguments for an image built on others (plan.ImageRecipe): our own by tag, and the ones
the user names by reference and id, pulled when the engine does not have them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import docker
import docker.errors

from ...errors import LaunchError
from ...images import BuildOptions
from ...plan import ImageRecipe


def _external(client: docker.DockerClient, argument: str, reference: str) -> str:
    try:
        image = client.images.get(reference)
    except docker.errors.ImageNotFound:
        try:
            image = client.images.pull(reference)
        except docker.errors.APIError as exc:
            raise LaunchError(f"{argument}={reference}: not here and not pullable: {exc.explanation}") from None
    return image.id or ""


def recipe_build(
    client: docker.DockerClient, build: BuildOptions, recipe: ImageRecipe, ours: Callable[[str], str]
) -> BuildOptions:
    """`build` with the recipe's build arguments; `ours(key)` gives the tag of one of our images."""
    args = {argument: ours(key) for argument, key in recipe.built_on.items()}
    for argument, reference in recipe.external.items():
        args[argument] = reference
        args[f"{argument.removesuffix('_IMAGE')}_ID"] = _external(client, argument, reference)
    return dataclasses.replace(build, extra_args={**build.extra_args, **args})
