"""A repository on this machine as the agent's workspace (`--workspace PATH`), with the real git
gate (and real gitleaks) between them.

The user's repository is on branch `feature`, with an uncommitted edit and an untracked file. The
agent gets a clone of its branches through the gate; what the agent pushes is scanned and comes
back under refs/remotes/bottle/tester/, while the session runs and again at its end. The user's
branch, index and working tree are byte-identical before and after.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import string
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from e2e_helpers import bottle_launch, host_git, launch_yes, launcher_command, leftovers

AGENT_GIT = "git -c user.name=agent -c user.email=agent@test"
WORKDIR = "/home/claude/work"
WORK = f"{WORKDIR}/project"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "app.py").write_text("print('v1')\n")
    host_git(repo, "add", "app.py")
    host_git(repo, "commit", "-q", "-m", "first")
    host_git(repo, "checkout", "-q", "-b", "feature")
    (repo / "app.py").write_text("print('v2')\n")
    host_git(repo, "commit", "-qam", "second, on feature")
    host_git(repo, "tag", "v2")
    (repo / "app.py").write_text("print('v3, not committed')\n")  # an uncommitted edit
    (repo / "scratch.txt").write_text("untracked\n")
    return repo


@pytest.fixture
def manifest(tmp_path: Path, upstream_subnet: str) -> Path:
    path = tmp_path / "claude-bottle.json"
    bottle = {"egress": {"allow_cidrs": [upstream_subnet]}}
    path.write_text(json.dumps({"bottles": {"ws": bottle}, "agents": {"tester": {"bottle": "ws"}}}))
    return path


def snapshot(repo: Path) -> dict[str, str]:
    """What the user owns: HEAD, the index, every file of the working tree, and every ref outside
    the bottle's namespace (by content)."""
    files = {
        str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }
    refs = host_git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    own = "\n".join(line for line in refs.splitlines() if not line.startswith("refs/remotes/bottle/"))
    index = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    return {"HEAD": (repo / ".git" / "HEAD").read_text(), "index": index, "refs": own, **files}


def bottle_ref(repo: Path, branch: str = "feature") -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "-q", "--verify", f"refs/remotes/bottle/tester/{branch}"],
        capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip() or None


def start(manifest: Path, network: str, project: Path, *extra: str) -> str:
    result = launch_yes(manifest, network, ("sleep", "infinity"), "--detach", "--workspace", str(project), *extra)
    assert result.returncode == 0, result.stderr
    assert str(project) in "".join(result.stderr.split()), result.stderr  # the preflight names it
    return result.stdout.strip()


def sh(bottle_id: str, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = bottle_launch("exec", "-T", bottle_id, "--", "bash", "-c", script, timeout=180)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_agent_works_in_a_clone_of_the_local_branch_and_the_repository_is_untouched(
    manifest, upstream_network, project, client
):
    before = snapshot(project)
    bottle_id = start(manifest, upstream_network, project)
    try:
        seen = sh(bottle_id, "pwd; git branch --show-current; git rev-parse HEAD; cat app.py; git tag").stdout.split()
        assert seen[:3] == [WORK, "feature", host_git(project, "rev-parse", "HEAD")]
        assert "print('v2')" in " ".join(seen) and "v2" in seen  # the commit, not the uncommitted edit
        assert sh(bottle_id, "test ! -e scratch.txt && git branch -a").stdout.count("main") >= 1
        # The clone arrived as an archive: it is what cloning through the gate gives, clean, with
        # the agent's ownership, and origin is the gate.
        refs = "git for-each-ref --format='%(refname) %(objectname) %(upstream)'"
        same = f'git clone -q "$(git remote get-url origin)" /tmp/again && diff <({refs}) <(cd /tmp/again && {refs})'
        sh(bottle_id, f'{same} && test -z "$(git status --porcelain)" && git fetch -q origin && test -O .git/index')
    finally:
        stopped = bottle_launch("stop", bottle_id)
    assert stopped.returncode == 0, stopped.stderr
    assert snapshot(project) == before
    assert bottle_ref(project) is None  # nothing was pushed, nothing arrives
    assert leftovers(client, bottle_id) == []


def test_a_push_comes_back_under_the_bottles_namespace_while_running_and_at_the_end(
    manifest, upstream_network, project, client, tmp_path
):
    before = snapshot(project)
    script = (
        f"{AGENT_GIT} commit -q --allow-empty -m 'agent one' && git push -q origin HEAD:feature && echo pushed-one "
        "&& while [ ! -e /tmp/go ]; do sleep 0.2; done "
        f"&& {AGENT_GIT} commit -q --allow-empty -m 'agent two' && git push -q origin HEAD:feature "
        "&& git push -q origin HEAD:refs/heads/agent-branch && echo pushed-two"
    )
    argv, env = launcher_command(
        "tester", "--manifest", str(manifest), "--yes", "--egress-network", upstream_network,
        "--workspace", str(project), "--", "bash", "-c", script,
    )  # fmt: skip
    launcher = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert launcher.stdout is not None
        deadline = time.monotonic() + 180
        while "pushed-one" not in launcher.stdout.readline():
            assert launcher.poll() is None and time.monotonic() < deadline, "the agent never pushed"
        # While the session runs, the push arrives in the local repository by itself.
        arrived = None
        while arrived is None and time.monotonic() < deadline:
            arrived = bottle_ref(project)
            time.sleep(0.2)
        assert arrived is not None, "the first push did not arrive while the bottle ran"
        assert host_git(project, "log", "-1", "--format=%s", arrived) == "agent one"
        bottle_id = client.containers.list(
            filters={"label": [f"dev.claude-bottle.launcher-pid={launcher.pid}", "dev.claude-bottle.role=agent"]}
        )[0].labels["dev.claude-bottle.id"]
        sh(bottle_id, "touch /tmp/go")
        _, stderr = launcher.communicate(timeout=180)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 0, stderr
    # The last pushes, made just before the end, are there too, and a new branch beside them.
    assert host_git(project, "log", "-1", "--format=%s", "refs/remotes/bottle/tester/feature") == "agent two"
    assert bottle_ref(project, "agent-branch") is not None
    assert "-> bottle/tester/feature" in stderr  # the launcher said what arrived
    assert snapshot(project) == before
    assert leftovers(client, bottle_id) == []


def test_a_push_with_a_token_is_refused_and_nothing_arrives(manifest, upstream_network, project):
    token = "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))
    bottle_id = start(manifest, upstream_network, project)
    try:
        # Positive control first: the same push without the token goes through.
        sh(bottle_id, f"echo fine > ok.txt && git add ok.txt && {AGENT_GIT} commit -qm ok && git push origin HEAD")
        pushed = sh(
            bottle_id,
            f"echo 'token = \"{token}\"' > leak.txt && git add leak.txt && {AGENT_GIT} commit -qm leak "
            "&& git push origin HEAD:refs/heads/leaky",
            check=False,
        )
        assert pushed.returncode != 0 and "PUSH REJECTED" in pushed.stderr, pushed.stderr
    finally:
        bottle_launch("stop", bottle_id)
    assert bottle_ref(project) is not None  # the clean push came back
    assert bottle_ref(project, "leaky") is None
    objects = subprocess.run(["git", "-C", str(project), "grep", "-q", token, "--all"], capture_output=True)
    assert objects.returncode != 0
    assert token.encode() not in b"".join(p.read_bytes() for p in (project / ".git").rglob("*") if p.is_file())


def test_with_changes_brings_the_uncommitted_edit_as_a_commit(manifest, upstream_network, project, client):
    before = snapshot(project)
    bottle_id = start(manifest, upstream_network, project, "--with-changes")
    try:
        seen = sh(bottle_id, "git log -1 --format=%s; cat app.py scratch.txt; git status --porcelain").stdout
        assert seen.splitlines()[:3] == [
            "Uncommitted changes, brought into the bottle by --with-changes",
            "print('v3, not committed')",
            "untracked",
        ], seen
    finally:
        bottle_launch("stop", bottle_id)
    assert snapshot(project) == before
    assert host_git(project, "for-each-ref", "refs/claude-bottle") == ""  # the moment's ref is gone


def test_a_clone_the_helper_cannot_unpack_is_an_error_and_leaves_nothing(client):
    """The agent's clone is unpacked into its fresh volume by a helper container's tar. One that
    tar refuses is a LaunchError naming the volume, and the helper is gone; the same helper
    unpacks a good archive with the agent's ownership (the control)."""
    from bottle_launcher.errors import LaunchError
    from bottle_launcher.runtime.docker import DockerBackend
    from bottle_launcher.runtime.docker._seed import seed_volume

    image = DockerBackend(client).image("agent")
    labels = {"claude-bottle.test": secrets.token_hex(4)}
    good = io.BytesIO()
    with tarfile.open(fileobj=good, mode="w") as tar:
        entry = tarfile.TarInfo("app/readme.txt")
        entry.size, entry.uid, entry.gid = 3, 1000, 1000
        tar.addfile(entry, io.BytesIO(b"hi\n"))
    volumes = [client.volumes.create(f"bottle-test-seed-{secrets.token_hex(3)}") for _ in range(2)]
    try:
        seed_volume(
            client.api, image, f"{volumes[0].name}-seed", labels, volumes[0].name, WORKDIR, "1000", good.getvalue()
        )
        listed = client.containers.run(
            image, entrypoint=["stat", "-c", "%u %n", ".", "app/readme.txt"], working_dir=WORKDIR, remove=True,
            network_disabled=True, volumes={volumes[0].name: {"bind": WORKDIR, "mode": "ro"}},
        ).decode()  # fmt: skip
        assert listed.split() == ["1000", ".", "1000", "app/readme.txt"]
        with pytest.raises(LaunchError, match=f"into volume {volumes[1].name} failed .*does not look like a tar"):
            seed_volume(
                client.api, image, f"{volumes[1].name}-seed", labels, volumes[1].name, WORKDIR, "1000", b"x" * 20480
            )
        assert (
            client.containers.list(all=True, filters={"label": f"claude-bottle.test={labels['claude-bottle.test']}"})
            == []
        )
    finally:
        for volume in volumes:
            volume.remove(force=True)
