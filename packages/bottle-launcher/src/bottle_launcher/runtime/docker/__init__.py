from ._backend import DockerBackend
from ._engine import check_runtime, connect, detect_runtime

__all__ = ["DockerBackend", "check_runtime", "connect", "detect_runtime"]
