"""The pure core: a resolved manifest agent becomes plain data that any backend can apply."""

from ._build import build_plan
from ._describe import describe
from ._model import EnvVar, GitRemote, Plan, SshRemote

__all__ = ["EnvVar", "GitRemote", "Plan", "SshRemote", "build_plan", "describe"]
