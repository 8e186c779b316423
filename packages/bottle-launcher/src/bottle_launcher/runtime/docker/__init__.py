from ._backend import DockerBackend
from ._endpoint import Endpoint, find_endpoint
from ._engine import check_runtime, connect, detect_runtime
from ._handover import Handover

__all__ = ["DockerBackend", "Endpoint", "Handover", "check_runtime", "connect", "detect_runtime", "find_endpoint"]
