"""`bottle-launch start`: resolve, show, ask, bring up, hand over, attach, and always clean up."""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

import bottle_manifest
import docker.errors
from bottle_contract.agent import UID as AGENT_UID
from rich.console import Console

from . import local_workspace, preflight, summary
from .egress import backend_for
from .egress_ca import make_ca
from .egress_secrets import AGENT_TOKEN_VAR, TOKEN_HOSTS, read_upstream_ca, seal
from .errors import LaunchError
from .identities import git_identities, ssh_identities
from .plan import (
    Checkout,
    LaunchOptions,
    Plan,
    RuntimePlan,
    Secrets,
    agent_command,
    build_plan,
    build_runtime_plan,
    persisted_volumes,
    workspace_url,
)
from .prune import prune_orphans
from .rescue import Mode
from .runtime import ContainerInfo, RuntimeBackend, open_backend
from .skills import skill_files, skill_roots
from .teardown import remove_bottle
from .volumes import record_use
from .workspace_sync import live_sync

TOKEN_VAR = "CLAUDE_BOTTLE_OAUTH_TOKEN"


@dataclass(frozen=True)
class StartRequest:
    agent: str
    manifest: Path | None
    command: tuple[str, ...]
    yes: bool
    detach: bool
    runtime: str | None
    egress_network: str | None
    discard: bool = False  # at the end, remove unsaved work instead of saving it
    workspace: Path | None = None  # --workspace: a local repository given to the agent
    with_changes: bool = False  # ... with its uncommitted changes as a commit on top


class Interrupted(Exception):
    """SIGTERM or SIGHUP while starting or attached: clean up, then exit."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def signals_raise() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _tty() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _prompt(request: bottle_manifest.PromptRequest) -> str:
    if not _tty():
        raise LaunchError(
            f"bottle {request.bottle!r} env {request.key!r} must be typed in, but there is no terminal",
            hint="set it with ${NAME} from the environment instead of '?'",
        )
    return getpass.getpass(f"{request.text} ({request.key}): ")


def start(request: StartRequest, console: Console, prompt: Callable[..., str] = _prompt) -> int:
    spec = bottle_manifest.load(request.manifest).agent(request.agent)
    plan = build_plan(spec)
    plan, preparing = _with_workspace(plan, request, spec)
    home = Path(os.environ["HOME"]) if os.environ.get("HOME") else None
    files = skill_files(plan.skills, skill_roots(spec.agent_source.parent, home))
    upstream_ca = read_upstream_ca()
    identities = ssh_identities(plan, spec.bottle_source.parent)
    gate_identities = git_identities(plan, spec.bottle_source.parent)
    env = bottle_manifest.resolve_env(spec, prompt=prompt)
    credentials: dict[str, list[str] | tuple[str, ...]] = dict(spec.credential_hosts())
    token = os.environ.get(TOKEN_VAR) or None
    if token:
        env[AGENT_TOKEN_VAR] = token
        credentials[AGENT_TOKEN_VAR] = TOKEN_HOSTS
    elif not request.command:
        raise LaunchError(
            f"{TOKEN_VAR} is not set, so claude cannot log in",
            hint=f"run `claude setup-token` on the host and export the token as {TOKEN_VAR}",
        )
    egress = backend_for(plan.egress_backend)
    egress_sidecar = egress.sidecar(plan)
    if not egress.swaps_credentials:
        credentials = {}  # the agent holds the real values; the manifest refuses declared ones
    sealed = seal(env, credentials, builtin=[AGENT_TOKEN_VAR] if token else [], places=spec.credential_places())
    backend = open_backend()
    runtime = backend.choose_runtime(request.runtime)
    command = agent_command(plan, request.command)
    image = backend.image("agent", console.log)
    engine = backend.engine_limits(runtime)
    preflight.render(
        plan,
        image=image,
        runtime=runtime or "runc (default)",
        command=command,
        console=console,
        engine=engine,
        notice=egress.notice(),
        where=backend.describe_engine(),
    )
    if not request.yes:
        if not _tty():
            raise LaunchError("refusing to start without confirmation: no terminal to ask on", hint="pass --yes")
        answer = _ask(console, "Start this bottle? [y/N] ")
        if answer not in ("y", "yes"):
            console.print("not started")
            return 1
    if plan.persist:
        _refuse_a_second_bottle(backend, plan)
    prune_orphans(backend, say=_say(console))
    bottle_id = secrets.token_hex(4)
    ca = make_ca(plan.bottle, bottle_id)
    prepared = preparing.result() if preparing else None
    workspace_clone = (prepared.clone if prepared else None) or b""
    plan = _archived(plan, workspace_clone)
    options = LaunchOptions(
        bottle_id=bottle_id,
        egress_ca_cert=ca.cert_pem,
        egress_upstream_ca=upstream_ca,
        command=request.command,
        detach=request.detach,
        runtime=runtime,
        egress_network=request.egress_network,
        launcher_host=socket.gethostname(),
        launcher_pid=os.getpid(),
        engine=engine,
        workspace_mirror=prepared.mirror if prepared else b"",
        workspace_clone=workspace_clone,
    )
    runtime_plan = build_runtime_plan(plan, options, files, egress_sidecar)
    persisted = [volume.name for volume in runtime_plan.volumes if volume.persistent]
    record_use(persisted)
    agent_secrets = Secrets(env=sealed.agent_env, files=identities)
    gate_files = egress.handover_files(ca, sealed.known)
    sidecar_secrets = {"git": Secrets(files=gate_identities), "egress": Secrets(files=gate_files)}
    keep = False
    ran = False  # the agent's command was let start: its working folder may hold work
    interrupted = False
    try:
        with signals_raise():
            with console.status("starting bottle") as status:
                backend.up(runtime_plan, lambda line: status.update(line[:100]), sidecar_secrets)
                if plan.checkouts:
                    status.update("checking out " + ", ".join(c.repo for c in plan.checkouts))
                    backend.check_out(runtime_plan)
            ran = True
            if request.detach:
                backend.hand_over(runtime_plan, agent_secrets)
                keep = True
                print(runtime_plan.bottle_id)
                return 0
            notifier = _notifier(runtime_plan, sandbox=engine.sandbox)
            with live_sync(backend, runtime_plan, _say(console)):
                return backend.attach(runtime_plan, agent_secrets, notifier)
    except docker.errors.APIError as exc:
        raise LaunchError(f"the Docker engine refused: {exc.explanation or exc}") from None
    except KeyboardInterrupt:
        interrupted = True
        console.print("interrupted; removing the bottle")
        return 130
    except Interrupted as exc:
        interrupted = True
        console.print(f"{exc}; removing the bottle")
        return 128 + exc.signum
    finally:
        if not keep:
            # Ignore further signals so a second Ctrl-C cannot leave half a bottle behind.
            with _shielded():
                _print_summary(backend, runtime_plan, console)
                if not ran:  # claude never started: there is no work to lose
                    backend.down(runtime_plan.bottle_id)
                else:
                    remove_bottle(
                        backend,
                        runtime_plan.bottle_id,
                        plan.agent,
                        mode=_end_mode(request, interrupted=interrupted),
                        say=_say(console),
                        ask=lambda question: _ask(console, question),
                    )
                if persisted:
                    record_use(persisted)
                    console.print(
                        f"claude-bottle: claude's sessions and the working folder of agent {plan.agent} are kept "
                        f"for its next bottle ({', '.join(persisted)}; `bottle-launch volumes` lists them)",
                        markup=False,
                        highlight=False,
                        soft_wrap=True,
                    )


def _say(console: Console) -> Callable[[str], None]:
    return lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True)


def _with_workspace(
    plan: Plan, request: StartRequest, spec: bottle_manifest.AgentSpec
) -> tuple[Plan, Future[local_workspace.Prepared] | None]:
    """The plan with its local workspace, checked and bundled before the engine is contacted, and
    the gate's mirror and the agent's clone (for a fresh working folder) being made from the
    bundle while the launcher asks the engine what it needs (0.5 s for 10,000 files, measured)."""
    if request.workspace is not None:
        path = request.workspace.expanduser().resolve()
    elif spec.agent.workspace is not None:
        path = (spec.agent_source.parent / Path(spec.agent.workspace).expanduser()).resolve()
    else:
        if request.with_changes:
            raise LaunchError("--with-changes needs a workspace", hint="add --workspace PATH")
        return plan, None
    workspace = local_workspace.inspect(path, request.with_changes)
    if any(c.folder == workspace.name for c in plan.checkouts):
        raise LaunchError(f"the workspace and a checkout would both be ~/work/{workspace.name}")
    bundle = local_workspace.make_bundle(workspace)
    with_ws = replace(plan, workspace=workspace)
    checkout = Checkout(workspace.repo, workspace_url(with_ws), workspace.name)
    pool = ThreadPoolExecutor(1, thread_name_prefix="workspace")
    # A persisted working folder may hold the last session's clone: the agent fetches into it.
    preparing = pool.submit(local_workspace.prepare, workspace, bundle, checkout.url, AGENT_UID, not plan.persist)
    pool.shutdown(wait=False)
    return replace(with_ws, checkouts=(checkout, *plan.checkouts)), preparing


def _archived(plan: Plan, clone: bytes) -> Plan:
    """The workspace's checkout marked as arriving with the working folder, when its archive was
    made (not when it was over the limit: then the agent clones it)."""
    if not clone or plan.workspace is None:
        return plan
    repo = plan.workspace.repo
    return replace(plan, checkouts=tuple(replace(c, archived=c.repo == repo) for c in plan.checkouts))


def _refuse_a_second_bottle(backend: RuntimeBackend, plan: Plan) -> None:
    """An agent that persists runs in one bottle at a time: two would write one state at once."""
    name = next(iter(persisted_volumes(plan)))
    running = backend.volume_users().get(name)
    if running:
        raise LaunchError(
            f"agent {plan.agent} already runs in bottle {running[0]}, which holds its persisted sessions and "
            "working folder; one bottle at a time may use them",
            hint=f"`bottle-launch exec -t {running[0]} -- claude --continue` joins it; "
            f"`bottle-launch stop {running[0]}` ends it",
        )


def _end_mode(request: StartRequest, *, interrupted: bool) -> Mode:
    """Ask at a terminal after a session that ended by itself; save without asking when there is
    no terminal or a signal ended it; nothing with --discard."""
    if request.discard:
        return "discard"
    return "ask" if _tty() and not interrupted else "save"


def _notifier(plan: RuntimePlan, sandbox: bool = False) -> Callable[[ContainerInfo], None]:
    """Tell the user at once, on the terminal the session is attached to, when a gate stops or
    the agent hits its memory limit; the session goes on (a dead gate fails closed)."""
    memory = plan.agent.limits.memory if plan.agent.limits else None

    def notify(info: ContainerInfo) -> None:
        data = summary.notice(info, memory, sandbox).encode()
        with contextlib.suppress(OSError):
            while data:
                data = data[os.write(sys.stderr.fileno(), data) :]

    return notify


def _print_summary(backend: RuntimeBackend, plan: RuntimePlan, console: Console) -> None:
    memory = plan.agent.limits.memory if plan.agent.limits else None
    texts = []
    # A summary must never stand in the way of removing the bottle: each part may fail alone.
    with contextlib.suppress(Exception):
        texts.append(summary.ended(backend.states(plan.bottle_id), bottle=plan.plan.bottle, memory=memory))
    with contextlib.suppress(Exception):
        texts.append(summary.render(summary.blocked(backend.sidecar_log(plan.bottle_id, "egress"))))
    for text in texts:
        if text:
            console.print(text, markup=False, highlight=False, soft_wrap=True)  # hints stay copyable


def _ask(console: Console, question: str) -> str:
    # Plain text: rich would highlight the brackets, and the question must read the same to a
    # screen reader or a script driving the terminal.
    console.print(question, end="", markup=False, highlight=False)
    try:
        return input().strip().lower()
    except EOFError:
        return ""


@contextmanager
def _shielded() -> Iterator[None]:
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
