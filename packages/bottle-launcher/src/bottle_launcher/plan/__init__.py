"""The pure core: a resolved manifest agent becomes plain data that any backend can apply."""

from ._build import build_plan
from ._describe import describe
from ._fence import agent_fence_script, gate_fence_script
from ._model import EnvVar, GitRemote, Plan, SshRemote, WorkspaceRepo
from ._runtime import (
    LABEL,
    ContainerSpec,
    FileSpec,
    LaunchOptions,
    NetworkSpec,
    RuntimePlan,
    Secrets,
    build_runtime_plan,
)

__all__ = [
    "LABEL",
    "ContainerSpec",
    "EnvVar",
    "FileSpec",
    "GitRemote",
    "LaunchOptions",
    "NetworkSpec",
    "Plan",
    "RuntimePlan",
    "Secrets",
    "SshRemote",
    "WorkspaceRepo",
    "agent_fence_script",
    "build_plan",
    "build_runtime_plan",
    "describe",
    "gate_fence_script",
]
