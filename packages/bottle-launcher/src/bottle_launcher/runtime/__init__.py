"""Runtime backends apply a RuntimePlan. Docker is the one backend today (runtime/docker)."""

from .plugin.interface import BottleInfo, RuntimeBackend

__all__ = ["BottleInfo", "RuntimeBackend"]
