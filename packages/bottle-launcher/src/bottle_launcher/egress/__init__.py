"""The egress gate's engines: mitmproxy with our addon (the default) or a user-supplied pipelock."""

from __future__ import annotations

from ._mitmproxy import MitmproxyBackend
from ._pipelock import PIPELOCK_IMAGE_VAR, PipelockBackend, pipelock_config, pipelock_yaml
from .plugin.interface import EgressBackend


def backend_for(name: str) -> EgressBackend:
    return PipelockBackend() if name == "pipelock" else MitmproxyBackend()


__all__ = [
    "PIPELOCK_IMAGE_VAR",
    "EgressBackend",
    "MitmproxyBackend",
    "PipelockBackend",
    "backend_for",
    "pipelock_config",
    "pipelock_yaml",
]
