"""claude-bottle's manifest: load (with discovery and merging), validate, resolve, describe.

>>> import bottle_manifest
>>> manifest = bottle_manifest.load()
>>> spec = manifest.agent("gitea-helper")
>>> env = bottle_manifest.resolve_env(spec, prompt=ask)
"""

from ._defaults import DEFAULT_EGRESS_ALLOWLIST
from ._discovery import FILENAME
from ._edit import AllowlistEdit, edit_allowlist
from ._errors import Issue, ManifestError, ManifestNotFoundError
from ._fields import normalize_allow_host
from ._loader import Manifest, Sourced, checkout_folder, load
from ._models import (
    Agent,
    AllowRule,
    Bottle,
    ClaudeOptions,
    Credential,
    Egress,
    GitEntry,
    ManifestFile,
    Resources,
    SshEntry,
)
from ._resolve import Prompt, PromptRequest, resolve_env
from ._schema import json_schema
from ._sizes import format_size, parse_size
from ._spec import AgentSpec, EnvSource, env_source

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_EGRESS_ALLOWLIST",
    "FILENAME",
    "Agent",
    "AgentSpec",
    "AllowlistEdit",
    "AllowRule",
    "Bottle",
    "ClaudeOptions",
    "Credential",
    "Egress",
    "EnvSource",
    "GitEntry",
    "Issue",
    "Manifest",
    "ManifestError",
    "ManifestFile",
    "ManifestNotFoundError",
    "Prompt",
    "PromptRequest",
    "Resources",
    "Sourced",
    "SshEntry",
    "checkout_folder",
    "edit_allowlist",
    "env_source",
    "format_size",
    "json_schema",
    "load",
    "normalize_allow_host",
    "parse_size",
    "resolve_env",
]
