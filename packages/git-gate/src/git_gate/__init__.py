"""The git gate: a git daemon mirror of each declared repository. Pushes are scanned for
secrets and forwarded upstream atomically under leases; fetches refresh from upstream first.
Every failure closes."""

from ._config import GateConfig, Remote
from ._scan import Finding, scan_push
from ._upstream import RefUpdate

__version__ = "0.1.0"

__all__ = ["Finding", "GateConfig", "RefUpdate", "Remote", "scan_push"]
