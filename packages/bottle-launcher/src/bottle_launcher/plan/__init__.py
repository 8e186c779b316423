"""The pure core: a resolved manifest agent becomes plain data that any backend can apply."""

from ._build import build_plan
from ._claude import start_folder
from ._describe import describe
from ._egress import EgressSidecar, ImageRecipe, egress_config
from ._fence import agent_fence_script, gate_fence_script, internal_ranges
from ._git import workspace_url
from ._labels import (
    EGRESS_ENGINE_LABEL,
    ID_LABEL,
    MANIFEST_LABEL,
    PERSIST_LABEL,
    PROJECT_LABEL,
    VOLUME_LABEL,
    WORKSPACE_LABEL,
)
from ._model import Checkout, EgressRule, EnvVar, GitRemote, Plan, SshRemote, WorkspaceRepo
from ._resources import AGENT, EngineLimits, Limits, bottle_limits, choose_cpuset, limits_text, parse_cpuset
from ._runtime import (
    AGENT_CA,
    LABEL,
    ContainerSpec,
    FileSpec,
    LaunchOptions,
    NetworkSpec,
    RuntimePlan,
    Secrets,
    VolumeSpec,
    agent_command,
    build_runtime_plan,
)
from ._workspace import CHECKOUT_TIMEOUT, checkout_script, persisted_volumes

__all__ = [
    "AGENT",
    "AGENT_CA",
    "CHECKOUT_TIMEOUT",
    "Checkout",
    "EGRESS_ENGINE_LABEL",
    "ContainerSpec",
    "EgressRule",
    "EgressSidecar",
    "EngineLimits",
    "EnvVar",
    "FileSpec",
    "GitRemote",
    "ID_LABEL",
    "ImageRecipe",
    "LABEL",
    "LaunchOptions",
    "Limits",
    "MANIFEST_LABEL",
    "NetworkSpec",
    "PERSIST_LABEL",
    "PROJECT_LABEL",
    "Plan",
    "RuntimePlan",
    "Secrets",
    "SshRemote",
    "VOLUME_LABEL",
    "VolumeSpec",
    "WORKSPACE_LABEL",
    "WorkspaceRepo",
    "agent_command",
    "agent_fence_script",
    "bottle_limits",
    "build_plan",
    "build_runtime_plan",
    "checkout_script",
    "choose_cpuset",
    "describe",
    "egress_config",
    "gate_fence_script",
    "internal_ranges",
    "limits_text",
    "parse_cpuset",
    "persisted_volumes",
    "start_folder",
    "workspace_url",
]
