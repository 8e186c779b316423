"""The ssh gate: one socat forwarder per declared SSH upstream, serving only its bottle's
internal network, with health reported as JSON lines on stdout."""

from ._config import Forward, GateConfig
from ._forwarders import socat_argv

__version__ = "0.1.0"

__all__ = ["Forward", "GateConfig", "socat_argv"]
