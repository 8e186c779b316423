"""Bottle start-to-finish against a bare `docker run` of the same image and runtime.

Arms, each a whole lifecycle with the command `true`, alternating, medians:
- docker-run: `docker run --rm --network <internal> --entrypoint true <agent image>`;
- engine floor: only the engine operations a sealed bottle cannot do without, driven from this
  process (no launcher start, no gate process): two networks, a sleeping sidecar and the agent
  started together, the fence helper in the agent's namespace, one handover exec, the agent's
  command, and the removal of all of it;
- bottle, egress only: `bottle-launch bench --yes -- true`;
- bottle, all three sidecars: the same with an ssh and a git entry for an sshd upstream, whose
  network the sidecars join with `--egress-network` (so that network is not created per run).
Then one traced start of each bottle arm gives the breakdown (`_trace_start.py`), and one
detached bottle with all three sidecars gives each sidecar's peak memory.
Target (issue 3): the egress-only bottle takes at most 3x the bare run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
from _common import ROOT, alternate, launch, report, timed
from bottle_contract import agent, egress, handover
from bottle_launcher.plan import LABEL, agent_fence_script
from upstreams import KeyPair, build_sshd_image, start_sshd

REPO = "demo/app"


def main(runs: int = 7, runtime: str | None = None) -> str:
    client = docker.from_env()
    from bottle_launcher.runtime.docker import DockerBackend, detect_runtime

    backend = DockerBackend(client)
    images = {key: backend.image(key) for key in ("agent", "egress", "ssh-gate", "git-gate")}
    runtime = runtime or detect_runtime(client)
    folder = Path(tempfile.mkdtemp())
    internal = client.networks.create(f"bench-start-{uuid.uuid4().hex[:6]}", internal=True)
    upstream = client.networks.create(f"bench-start-up-{uuid.uuid4().hex[:6]}")
    key = KeyPair.generate()
    sshd = start_sshd(client, build_sshd_image(client), upstream.name, "forge.test", [key.public], repos=(REPO,))
    try:
        egress_only = _manifest(folder / "egress", {})
        workspace = _big_repository(folder / "workspace")
        identity = folder / "id"
        identity.write_bytes(key.private)
        ssh = {"Host": "forge", "Hostname": "forge.test", "User": "git", "IdentityFile": str(identity)}
        pinned = {**ssh, "KnownHostKey": f"forge.test {sshd.host_key}"}
        # forge.test has a private address: the gates may dial it only where allow_cidrs says so.
        subnet = client.networks.get(upstream.id).attrs["IPAM"]["Config"][0]["Subnet"]
        all_three = _manifest(
            folder / "all",
            {
                "ssh": [pinned],
                "git": [{**pinned, "Host": "forge-git", "Repos": [REPO]}],
                "egress": {"allow_cidrs": [subnet]},
            },
        )
        chosen = ("--runtime", runtime) if runtime else ()
        starts: dict[str, list[float]] = {}
        with_upstream = ("--egress-network", upstream.name)
        bare = ["docker", "run", "--rm", "--network", internal.name, "--entrypoint", "true"]
        bare += [*(["--runtime", runtime] if runtime else []), images["agent"]]
        arms = {
            "docker-run": lambda: timed(lambda: subprocess.run(bare, check=True, capture_output=True)),
            "engine floor": lambda: timed(lambda: _floor(client, images, runtime)),
            "bottle, egress only": _started(starts, "bottle, egress only", egress_only, *chosen),
            "bottle, all three sidecars": lambda: timed(lambda: _bottle(all_three, *chosen, *with_upstream)),
            # Against "bottle, egress only": the same bottle with a local workspace to bundle, hand
            # to a git gate and clone (issue 18: within 2x).
            "bottle, local workspace (10k files, 2k commits)": _started(
                starts, WORKSPACE_ARM, egress_only, "--workspace", str(workspace), *chosen
            ),
        }
        for arm in arms.values():
            arm()  # warm caches; not counted
        for values in starts.values():
            values.clear()
        samples = alternate(arms, runs)
        title = f"Start to finish, command `true` (runtime: {runtime or 'runc'})"
        text = report(title, samples, "docker-run")
        # Issue 18 asks how long a workspace takes to start: until the agent's command runs.
        text += "\n" + report("Until the command runs (launch to its first instruction)", starts, "bottle, egress only")
        text += "\n" + _breakdown("egress only", _traced(egress_only, *chosen))
        text += "\n" + _breakdown("all three sidecars", _traced(all_three, *chosen, *with_upstream))
        text += "\n" + _memory(client, all_three, *chosen, *with_upstream)
        return text
    finally:
        sshd.container.remove(force=True)
        upstream.remove()
        internal.remove()


def _manifest(folder: Path, bottle: dict[str, Any]) -> Path:
    folder.mkdir()
    path = folder / "claude-bottle.json"
    path.write_text(json.dumps({"bottles": {"b": bottle}, "agents": {"bench": {"bottle": "b"}}}))
    return path


def _big_repository(path: Path, files: int = 10_000, commits: int = 2_000) -> Path:
    """A repository of `files` files and `commits` commits, made by git fast-import in seconds."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    stream = []
    for n in range(commits):
        changed = range(files) if n == 0 else [n % files]
        stream.append(f"commit refs/heads/main\ncommitter bench <b@bench> {1_700_000_000 + n} +0000\n")
        stream.append(f"data {len(f'c{n}')}\nc{n}\n")
        for f in changed:
            body = f"file {f} version {n}\n"
            stream.append(f"M 644 inline src/{f // 100}/f{f}.txt\ndata {len(body)}\n{body}")
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input="".join(stream).encode(), check=True)
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "-f", "main"], check=True)
    return path


WORKSPACE_ARM = "bottle, local workspace (10k files, 2k commits)"


def _started(starts: dict[str, list[float]], name: str, manifest: Path, *extra: str) -> Callable[[], float]:
    """An arm timed start to finish whose command prints the time it ran (the engine's clock is
    this machine's), so the same run also says how long the bottle took to start."""
    starts[name] = []

    def arm() -> float:
        launched, began = time.time(), time.perf_counter()
        out = launch("bench", "--manifest", str(manifest), "--yes", *extra, "--", "date", "+%s.%N").stdout
        total = time.perf_counter() - began
        starts[name].append(float(out.split()[-1]) - launched)
        return total

    return arm


def _bottle(manifest: Path, *extra: str) -> None:
    launch("bench", "--manifest", str(manifest), "--yes", *extra, "--", "true")


# -- engine floor ------------------------------------------------------------------------
def _floor(client: docker.DockerClient, images: dict[str, str], runtime: str | None) -> None:
    """What any sealed bottle costs this engine, with nothing of ours running in it."""
    api = client.api
    stem = f"bench-floor-{uuid.uuid4().hex[:6]}"
    try:
        _floor_run(api, stem, images, runtime)
    except BaseException:
        for container in client.containers.list(all=True, filters={"name": stem}):
            container.remove(force=True)
        for network in client.networks.list(names=[f"{stem}-inner", f"{stem}-outer"]):
            network.remove()
        raise


def _floor_run(api: Any, stem: str, images: dict[str, str], runtime: str | None) -> None:
    from bottle_launcher.runtime.docker import Handover

    with ThreadPoolExecutor(4) as pool:
        inner, outer = pool.map(
            lambda name: api.create_network(f"{stem}-{name}", internal=name == "inner")["Id"], ("inner", "outer")
        )

        def start(image: str, name: str, entrypoint: list[str] | None, tmpfs: dict[str, str] | None) -> str:
            config = api.create_host_config(runtime=runtime, cap_drop=["ALL"], tmpfs=tmpfs)
            networking = api.create_networking_config({inner: api.create_endpoint_config()})
            # The agent's entrypoint waits for the handover where the launcher says it arrives.
            environment = {agent.HANDOVER_FILE_VAR: str(handover.marker(agent.HANDOVER_DIR))}
            cid: str = api.create_container(
                image, entrypoint=entrypoint, command=None if entrypoint else ["true"], name=f"{stem}-{name}",
                host_config=config, networking_config=networking, environment=environment,
            )["Id"]  # fmt: skip
            if name == "sidecar":
                api.connect_container_to_network(cid, outer)
            api.start(cid)
            return cid

        sidecar = pool.submit(start, images["egress"], "sidecar", ["sleep", "infinity"], None)
        tmpfs = {agent.HANDOVER_DIR: f"uid={agent.UID},gid={agent.UID},mode=0700,size=1m"}
        agent_id = start(images["agent"], "agent", None, tmpfs)
        address = api.inspect_container(sidecar.result())["NetworkSettings"]["Networks"][f"{stem}-inner"]
        fence = api.create_container(
            images["egress"], user="0",
            entrypoint=["sh", "-c", agent_fence_script([(address["IPAddress"], egress.PORT)])],
            host_config=api.create_host_config(  # as the launcher's: gVisor cannot run nftables
                network_mode=f"container:{agent_id}", cap_drop=["ALL"], cap_add=["NET_ADMIN", "NET_RAW"], runtime="runc"
            ),
        )["Id"]  # fmt: skip
        api.start(fence)
        assert api.wait(fence)["StatusCode"] == 0
        api.remove_container(fence)
        Handover(api, agent_id, agent.HANDOVER_DIR, str(agent.UID)).send({}, b"")
        assert api.wait(agent_id)["StatusCode"] == 0
        list(pool.map(lambda cid: api.remove_container(cid, force=True), (agent_id, sidecar.result())))
        list(pool.map(api.remove_network, (inner, outer)))


# -- breakdown ---------------------------------------------------------------------------
def _traced(manifest: Path, *extra: str) -> tuple[list[tuple[str, float, float]], float]:
    out = Path(tempfile.mkdtemp()) / "phases.json"
    spawned = time.time()
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "_trace_start.py"), str(out), "bench",
         "--manifest", str(manifest), "--yes", *extra, "--", "true"],
        check=True, capture_output=True, env={**os.environ, "BENCH_SPAWNED": str(spawned)},
    )  # fmt: skip
    total = time.time() - spawned
    return [tuple(p) for p in json.loads(out.read_text())], total  # type: ignore[misc]


def _breakdown(arm: str, traced: tuple[list[tuple[str, float, float]], float]) -> str:
    phases, total = traced
    at = {name: (start, end) for name, start, end in phases}
    steps = [
        ("interpreter start", 0.0, at["interpreter"][1]),
        ("launcher imports", at["imports"][0], at["imports"][1]),
        ("manifest, engine checks, preflight, sweep, CA", at["imports"][1], at["up"][0]),
        ("networks", at["up"][0], at["networks"][1]),
        ("until the sidecars have addresses", at["networks"][1], at["start agent"][0]),
        ("agent container start", *at["start agent"]),
        ("fence helper", *at["fence"]),
        ("waiting for sidecars after the fence", at["fence"][1], at["up"][1]),
        ("handover, command, exit", *at["attach"]),
        ("teardown", *at["down"]),
        ("interpreter exit", at["down"][1], total),
    ]
    lines = [
        f"Where the time goes, bottle with {arm} (one traced start, {total:.2f} s):",
        "",
        "| step (in order) | s |",
        "|---|---|",
    ]
    lines += [f"| {name} | {end - start:.3f} |" for name, start, end in steps]
    lines += ["", "Sidecars, alongside the agent's start and fence (seconds since the launcher was spawned):", ""]
    lines += ["| sidecar | container start | handover and process start | ready at |", "|---|---|---|---|"]
    for name, start, end in phases:
        if name.startswith("start ") and name != "start agent":
            role = name.split()[1]
            ready = at[f"ready {role}"]
            lines.append(f"| {role} | {end - start:.3f} | {ready[1] - end:.3f} | {ready[1]:.3f} |")
    return "\n".join(lines) + "\n"


# -- memory ------------------------------------------------------------------------------
def _memory(client: docker.DockerClient, manifest: Path, *extra: str, seconds: float = 5.0) -> str:
    """Each sidecar's peak over its first seconds: the engine's count for its container (what the
    host pays, a gVisor sandbox's own memory included) and the summed RSS of its processes."""
    started = launch("bench", "--manifest", str(manifest), "--yes", "--detach", *extra, "--", "sleep", "infinity")
    bottle_id = started.stdout.strip()
    try:
        gates = {
            c.labels[f"{LABEL}.role"]: c
            for c in client.containers.list(filters={"label": f"{LABEL}.id={bottle_id}"})
            if c.labels.get(f"{LABEL}.role") not in ("agent", None)
        }
        peaks = {role: [0.0, 0.0] for role in gates}

        def sample(role: str, container: Any) -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                stats = client.api.stats(container.id, stream=False, one_shot=True)
                peaks[role][0] = max(peaks[role][0], stats.get("memory_stats", {}).get("usage", 0) / 2**20)
                _, out = container.exec_run(["sh", "-c", "cat /proc/[0-9]*/status 2>/dev/null"], user="0")
                rss = sum(int(line.split()[1]) for line in out.decode().splitlines() if line.startswith("VmRSS:"))
                peaks[role][1] = max(peaks[role][1], rss / 1024)

        threads = [threading.Thread(target=sample, args=item) for item in gates.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        launch("stop", bottle_id, check=False)
    lines = [
        f"Sidecar memory, peak over the first {seconds:.0f} s of a bottle with all three (MB):",
        "",
        "| sidecar | engine's count for the container | RSS of its processes |",
        "|---|---|---|",
    ]
    lines += [f"| {role} | {engine:.0f} | {rss:.0f} |" for role, (engine, rss) in sorted(peaks.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # bench_start.py [runs] [runtime]: the runtime defaults to the launcher's choice (runsc if registered).
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 7, sys.argv[2] if len(sys.argv) > 2 else None))
