"""The agent's working folder on the engine: its volume, the checkout at start, and the helper
that reads it at the end (rescue/). Everything goes through the engine's API (exec streams), so a
remote engine works the same."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
from bottle_contract import git
from bottle_contract.agent import UID as AGENT_UID
from bottle_contract.agent import WORKDIR

from ...errors import LaunchError
from ...local_workspace import BUNDLE_LIMIT, EXPORT, REFS
from ...plan import CHECKOUT_TIMEOUT, LABEL, WORKSPACE_LABEL
from ...rescue import RunResult

HELPER_LIFETIME = 600  # seconds the rescue helper lives at most, whatever happens to its launcher
HELPER_MEMORY = 1 << 30
STDERR_LIMIT = 64 << 10


def run_script(
    api: Any,
    container: str,
    script: str,
    args: list[str],
    *,
    limit: int,
    timeout: float,
    on_timeout: Any = None,
    user: int = AGENT_UID,
    workdir: str = WORKDIR,
) -> RunResult:
    """bash `script` with `args` in `container` as `user`: its stdout (at most `limit` bytes),
    stderr and exit code. On timeout, `on_timeout()` is called to end it (the stream cannot be
    cancelled otherwise)."""
    argv = ["bash", "-c", script, "bash", *args]
    exec_id = api.exec_create(container, argv, user=str(user), workdir=workdir)["Id"]
    out, err = bytearray(), bytearray()
    truncated = threading.Event()

    def read() -> None:
        with contextlib.suppress(docker.errors.APIError, OSError, ValueError):
            for chunk_out, chunk_err in api.exec_start(exec_id, stream=True, demux=True):
                if chunk_out:
                    if len(out) + len(chunk_out) > limit:
                        truncated.set()
                        if on_timeout is not None:
                            on_timeout()
                        return
                    out.extend(chunk_out)
                if chunk_err and len(err) < STDERR_LIMIT:
                    err.extend(chunk_err[: STDERR_LIMIT - len(err)])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        if on_timeout is not None:
            on_timeout()
        reader.join(10)
        return RunResult(None, bytes(out), bytes(err), truncated.is_set(), timed_out=True)
    if truncated.is_set():
        return RunResult(None, bytes(out), bytes(err), truncated=True)
    code = api.exec_inspect(exec_id).get("ExitCode")
    return RunResult(code, bytes(out), bytes(err))


def check_out(api: Any, agent_container: str, script: str) -> None:
    """Clone the checkouts in the agent, before its command may start; a failure says why."""
    result = run_script(api, agent_container, script, [], limit=1 << 20, timeout=CHECKOUT_TIMEOUT)
    if result.timed_out:
        raise LaunchError(f"the checkout took over {CHECKOUT_TIMEOUT} s; claude was not started")
    if result.code != 0:
        said = (result.stderr + result.stdout).decode(errors="replace").strip()
        raise LaunchError(f"the checkout failed, so claude was not started:\n{said}")


class Helper:
    """A container from the agent's image with the bottle's working folder mounted read-only:
    no network, no capabilities, no secrets, the agent's user, limited like a gate."""

    def __init__(self, client: docker.DockerClient, container: Any) -> None:
        self.client = client
        self.container = container

    def run(self, script: str, args: list[str], *, limit: int, timeout: float) -> RunResult:
        return run_script(
            self.client.api, self.container.id, script, args, limit=limit, timeout=timeout, on_timeout=self._kill
        )

    def _kill(self) -> None:
        with contextlib.suppress(docker.errors.APIError):
            self.container.kill()


def _empty(client: docker.DockerClient, name: str) -> bool:
    """Whether the engine says the volume holds nothing (size 0): then there is nothing to read,
    and no helper to start. Unknown (an engine that does not say) counts as not empty."""
    with contextlib.suppress(docker.errors.APIError, KeyError, TypeError):
        for entry in client.df().get("Volumes") or []:
            if entry.get("Name") == name:
                return (entry.get("UsageData") or {}).get("Size") == 0
    return False


def work_volume(client: docker.DockerClient, bottle_id: str) -> Any | None:
    volumes = client.volumes.list(filters={"label": [f"{LABEL}.id={bottle_id}", f"{LABEL}.role=work"]})
    return volumes[0] if volumes else None


@contextlib.contextmanager
def helper(client: docker.DockerClient, bottle_id: str, fallback_image: str) -> Iterator[Helper | None]:
    """The helper for a bottle's working folder, removed on leaving; None when it has none."""
    volume = work_volume(client, bottle_id)
    if volume is None or _empty(client, volume.name):
        yield None
        return
    labels = dict(volume.attrs.get("Labels") or {})
    agents = client.containers.list(all=True, filters={"label": [f"{LABEL}.id={bottle_id}", f"{LABEL}.role=agent"]})
    image = agents[0].attrs["Config"]["Image"] if agents else fallback_image
    runtime = (agents[0].attrs["HostConfig"].get("Runtime") if agents else None) or None
    container = client.containers.run(
        image,
        entrypoint=["sleep", str(HELPER_LIFETIME)],
        command=[],
        user=str(AGENT_UID),
        network_mode="none",
        volumes={volume.name: {"bind": WORKDIR, "mode": "ro"}},
        labels={**labels, f"{LABEL}.role": "rescue"},
        name=f"bottle-{labels.get(f'{LABEL}.agent', 'agent')}-{bottle_id}-rescue",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"],
        mem_limit=HELPER_MEMORY,
        memswap_limit=HELPER_MEMORY,
        pids_limit=256,
        tmpfs={"/tmp": f"size={HELPER_MEMORY // 2},mode=1777"},
        runtime=runtime,
        detach=True,
    )
    try:
        yield Helper(client, container)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)


def workspace_path(containers: list[Any]) -> str | None:
    """The local repository a bottle's git gate serves, from its label; None if none."""
    for container in containers:
        if container.labels.get(f"{LABEL}.role") == "git" and WORKSPACE_LABEL in container.labels:
            return str(container.labels[WORKSPACE_LABEL])
    return None


def export_workspace(
    api: Any, bottle_id: str, containers: list[Any], repo: str, known: list[str]
) -> tuple[list[tuple[str, str]], bytes]:
    """The gate's workspace mirror: its refs, and a bundle of what it has beyond `known`
    commits (b"": nothing new)."""
    gates = [c for c in containers if c.labels.get(f"{LABEL}.role") == "git"]
    if not gates or gates[0].status != "running":
        raise LaunchError(f"bottle {bottle_id} has no running git gate to fetch the workspace from")
    mirror = f"{git.BASE_PATH}/{repo}.git"
    outputs = []
    for script, args in ((REFS, [mirror]), (EXPORT, [mirror, *known])):
        result = run_script(api, gates[0].id, script, args, limit=BUNDLE_LIMIT, timeout=120, user=git.UID, workdir="/")
        if result.code != 0:
            why = result.stderr.decode(errors="replace").strip()
            why = why or ("timed out" if result.timed_out else "too large")
            raise LaunchError(f"reading the workspace mirror of bottle {bottle_id} failed: {why}")
        outputs.append(result.stdout)
    lines = outputs[0].decode(errors="replace").splitlines()
    refs = [(commit, ref) for commit, _, ref in (line.partition(" ") for line in lines) if ref]
    return refs, outputs[1]
