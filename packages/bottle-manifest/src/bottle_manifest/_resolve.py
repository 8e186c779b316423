"""Turn declared env values into real ones: prompts and host variables. Kept apart from
validation because it needs the host's environment and a person (or a callback)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ._errors import Issue, ManifestError, json_path
from ._interpolation import substitute, variables
from ._spec import AgentSpec, env_text


@dataclass(frozen=True)
class PromptRequest:
    bottle: str
    key: str
    text: str  # what follows the '?'


Prompt = Callable[[PromptRequest], str]


def _no_prompt(request: PromptRequest) -> str:
    raise ManifestError(
        [
            Issue(
                "<prompt>",
                json_path(("bottles", request.bottle, "env", request.key)),
                "a value must be typed in, but no prompt is available",
            )
        ]
    )


def resolve_env(
    spec: AgentSpec,
    *,
    environ: Mapping[str, str] | None = None,
    prompt: Prompt = _no_prompt,
) -> dict[str, str]:
    """Resolve every env value (a credential's real value too; `AgentSpec.credential_hosts` says
    which are credentials). All missing host variables are reported before any prompt."""
    env = os.environ if environ is None else environ
    issues: list[Issue] = []
    for key, entry in spec.bottle.env.items():
        value = env_text(entry)
        if value.startswith("?"):
            continue
        for name in variables(value):
            if name not in env:
                issues.append(
                    Issue(
                        str(spec.bottle_source),
                        json_path(("bottles", spec.bottle_name, "env", key)),
                        f"bottle {spec.bottle_name!r} env {key!r} needs host variable {name!r}, which is not set",
                    )
                )
    if issues:
        raise ManifestError(issues)
    resolved: dict[str, str] = {}
    for key, entry in spec.bottle.env.items():
        value = env_text(entry)
        if value.startswith("?"):
            resolved[key] = prompt(PromptRequest(spec.bottle_name, key, value[1:].strip() or key))
        else:
            resolved[key] = substitute(value, env)
    return resolved
