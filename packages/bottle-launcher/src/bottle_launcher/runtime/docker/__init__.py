from ._backend import DockerBackend
from ._engine import check_runtime, connect, detect_runtime
from ._handover import Handover

__all__ = ["DockerBackend", "Handover", "check_runtime", "connect", "detect_runtime"]
