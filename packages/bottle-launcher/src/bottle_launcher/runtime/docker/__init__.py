from ._backend import DockerBackend

__all__ = ["DockerBackend"]
