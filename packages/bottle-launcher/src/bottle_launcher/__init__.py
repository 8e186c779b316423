"""bottle-launch: turn a manifest agent into a plan, and a plan into a running bottle."""

from .errors import LaunchError
from .plan import Plan, build_plan

__version__ = "0.1.0"

__all__ = ["LaunchError", "Plan", "build_plan"]
