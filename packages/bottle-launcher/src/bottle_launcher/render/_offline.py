"""A bottle's RuntimePlan built the way `start` builds it (launch.py), without an engine: no image
is built or looked up, nothing is started. Image references come from the build contexts; the
values handed over at run time (env secrets, identities, the per-bottle CA) are read only when
asked for, and otherwise only named."""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import bottle_manifest
from bottle_contract import agent, git

from ..egress import EgressBackend, backend_for
from ..egress_ca import BottleCA, make_ca
from ..egress_secrets import AGENT_TOKEN_VAR, TOKEN_HOSTS, read_upstream_ca, seal
from ..errors import LaunchError
from ..identities import git_identities, ssh_identities
from ..images import BuildOptions, offline_tag
from ..launch import TOKEN_VAR
from ..plan import EngineLimits, ImageRecipe, LaunchOptions, Plan, RuntimePlan, Secrets, build_plan, build_runtime_plan
from ..skills import skill_files, skill_roots


@dataclass(frozen=True)
class Handover:
    """What each container receives at run time, by role ("agent", "egress", "git"), and the
    bottle's CA certificate (public; its key is in the egress gate's). Without `values`, every
    value is empty: only the names are known, and the user fills them in."""

    secrets: Mapping[str, Secrets]
    ca_cert: bytes = b""
    values: bool = False


@dataclass(frozen=True)
class OfflineBottle:
    runtime: RuntimePlan
    handover: Handover
    images: Mapping[str, str]  # image key -> the reference the cluster pulls
    notes: tuple[str, ...] = ()  # what the rendering leaves out, for the user


def image_references(runtime: RuntimePlan, registry: str = "", options: BuildOptions | None = None) -> dict[str, str]:
    """Each image key the plan runs -> `[REGISTRY/]claude-bottle/<key>:<hash of its context>`.
    An image built on others (an ImageRecipe) hashes their references in as its build arguments."""
    build = options or BuildOptions.from_env()
    prefix = registry.rstrip("/") + "/" if registry else ""
    references: dict[str, str] = {}

    def reference(key: str, recipe: ImageRecipe | None = None) -> str:
        if key not in references:
            extra: dict[str, str] = {}
            if recipe is not None:
                extra = {argument: reference(base) for argument, base in recipe.built_on.items()}
                extra.update(recipe.external)
            with_args = dataclasses.replace(build, extra_args={**build.extra_args, **extra})
            references[key] = prefix + offline_tag(key, with_args)
        return references[key]

    for spec in (*runtime.sidecars, runtime.agent):
        reference(spec.image, spec.recipe)
    return references


def _prompt(request: bottle_manifest.PromptRequest) -> str:
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise LaunchError(
            f"bottle {request.bottle!r} env {request.key!r} must be typed in, but there is no terminal",
            hint="set it with ${NAME} from the environment instead of '?'",
        )
    import getpass

    return getpass.getpass(f"{request.text} ({request.key}): ")


def named_only(plan: Plan, egress_files: Mapping[str, bytes], command: tuple[str, ...]) -> dict[str, Secrets]:
    """Every handover's names, each with an empty value."""
    env = {e.name: "" for e in plan.env}
    if not command:
        env[AGENT_TOKEN_VAR] = ""
    return {
        "agent": Secrets(env=env, files={f"{agent.IDENTITY_SUBDIR}/{r.host}": b"" for r in plan.ssh}),
        "egress": Secrets(files={name: b"" for name in egress_files}),
        **({"git": Secrets(files={f"{git.IDENTITY_SUBDIR}/{r.host}": b"" for r in plan.git})} if plan.git else {}),
    }


def offline_bottle(
    spec: bottle_manifest.AgentSpec,
    *,
    command: tuple[str, ...] = (),
    bottle_id: str | None = None,
    registry: str = "",
    with_secrets: bool = False,
    sandbox: bool = True,
    prompt: Callable[[bottle_manifest.PromptRequest], str] = _prompt,
    environ: Mapping[str, str] | None = None,
) -> OfflineBottle:
    """`sandbox`: the containers run under gVisor (or Kata), as the plan's limits assume."""
    env_vars = os.environ if environ is None else environ
    plan = build_plan(spec)
    notes = []
    if spec.agent.workspace is not None:
        notes.append(
            f"agent {plan.agent}'s workspace ({spec.agent.workspace}) is left out: a local repository is served "
            "from the launcher's machine, and nothing here fetches the agent's pushes back"
        )
    home = Path(env_vars["HOME"]) if env_vars.get("HOME") else None
    files = skill_files(plan.skills, skill_roots(spec.agent_source.parent, home))
    egress = backend_for(plan.egress_backend)
    egress_sidecar = egress.sidecar(plan)
    bid = bottle_id or secrets.token_hex(4)
    ca = make_ca(plan.bottle, bid) if with_secrets else BottleCA(b"", b"")
    options = LaunchOptions(
        bottle_id=bid,
        egress_ca_cert=ca.cert_pem,
        egress_upstream_ca=read_upstream_ca(),
        command=command,
        detach=True,  # no launcher holds it: it runs by itself, and is attached to with kubectl
        # A cluster caps the writable layer and emptyDirs on disk (ephemeral-storage); CPUs are
        # not capped to a machine's.
        engine=EngineLimits(disk=True, sandbox=sandbox, disk_note="ephemeral-storage"),
    )
    runtime = build_runtime_plan(plan, options, files, egress_sidecar)
    if with_secrets:
        handover = Handover(_values(spec, plan, egress, ca, command, prompt, env_vars), ca.cert_pem, values=True)
    else:
        handover = Handover(named_only(plan, egress.handover_files(ca, b""), command))
    return OfflineBottle(runtime, handover, image_references(runtime, registry), tuple(notes))


def _values(
    spec: bottle_manifest.AgentSpec,
    plan: Plan,
    egress: EgressBackend,
    ca: BottleCA,
    command: tuple[str, ...],
    prompt: Callable[[bottle_manifest.PromptRequest], str],
    environ: Mapping[str, str],
) -> dict[str, Secrets]:
    """The values, read as `start` reads them: identities from the host, env from the manifest
    (prompting where it says '?'), Claude's token from the host's environment, sealed for the
    gate."""
    base = spec.bottle_source.parent
    identities = ssh_identities(plan, base)
    gate_identities = git_identities(plan, base)
    env = bottle_manifest.resolve_env(spec, environ=environ, prompt=prompt)
    credentials: dict[str, list[str] | tuple[str, ...]] = dict(spec.credential_hosts())
    token = environ.get(TOKEN_VAR) or None
    if token:
        env[AGENT_TOKEN_VAR] = token
        credentials[AGENT_TOKEN_VAR] = TOKEN_HOSTS
    elif not command:
        raise LaunchError(
            f"{TOKEN_VAR} is not set, so claude cannot log in",
            hint=f"run `claude setup-token` on the host and export the token as {TOKEN_VAR}",
        )
    if not egress.swaps_credentials:  # the agent holds the real values (launch.py)
        credentials = {}
    sealed = seal(env, credentials, builtin=[AGENT_TOKEN_VAR] if token else [], places=spec.credential_places())
    return {
        "agent": Secrets(env=sealed.agent_env, files=identities),
        "egress": Secrets(files=egress.handover_files(ca, sealed.known)),
        **({"git": Secrets(files=gate_identities)} if plan.git else {}),
    }
