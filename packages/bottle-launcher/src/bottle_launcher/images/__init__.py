"""Images a bottle runs: found in the repository's images/, tagged by a hash of their inputs."""

from ._build import BuildOptions, ensure_image, image_exists, image_tag, offline_tag
from ._context import IMAGE_NAMES, ImageContext, image_context

__all__ = [
    "IMAGE_NAMES",
    "BuildOptions",
    "ImageContext",
    "ensure_image",
    "image_context",
    "image_exists",
    "image_tag",
    "offline_tag",
]
