"""Runtime backends apply a RuntimePlan. Docker is the one backend today (runtime/docker); the
launcher reaches it only through `open_backend()` and the RuntimeBackend interface."""

from .plugin.interface import HELPER_ROLES, BottleInfo, ContainerInfo, RuntimeBackend, bottle_state


def open_backend() -> RuntimeBackend:
    """The backend bottles run on: the Docker engine DOCKER_HOST names (or the local one)."""
    from .docker import DockerBackend

    return DockerBackend()


__all__ = ["HELPER_ROLES", "BottleInfo", "ContainerInfo", "RuntimeBackend", "bottle_state", "open_backend"]
