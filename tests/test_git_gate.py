"""The git gate against a real sshd+git upstream, with real gitleaks 8.16 and git daemon:
fetches are fresh, clean pushes land, anything with a secret is refused whole, and every
failure closes."""

from __future__ import annotations

import json
import subprocess

import git_fixtures
import pytest
from e2e_helpers import launch_yes, search_everywhere
from git_fixtures import COMMIT, REPO, github_token, sh, upstream_ref, upstream_refs

# The shared fixtures, bound here so that pytest finds them for this module.
key, forge, bottle, work = git_fixtures.key, git_fixtures.forge, git_fixtures.bottle, git_fixtures.work


def test_clone_shows_a_commit_made_upstream_a_moment_ago(bottle, forge):
    made = forge.sh(f"upstream-commit {REPO} 'just now'").strip()
    for url in (f"git@forge.test:{REPO}.git", f"ssh://git@forge.test:22/{REPO}", f"forge:{REPO}"):
        result = sh(bottle, f"cd $(mktemp -d) && git clone -q {url} c && git -C c rev-parse HEAD")
        assert result.returncode == 0, (url, result.stderr)
        assert result.stdout.strip() == made, url


def test_fetch_is_fresh(bottle, forge, work):
    made = forge.sh(f"upstream-commit {REPO} 'fresh'").strip()
    result = sh(bottle, f"cd {work} && git fetch -q && git rev-parse origin/main")
    assert result.stdout.strip() == made, result.stderr


def test_a_clean_push_lands_upstream(bottle, forge, work):
    result = sh(
        bottle,
        f"cd {work} && echo ok > clean.txt && git add . && {COMMIT} -m clean && git push -q && git rev-parse HEAD",
    )
    assert result.returncode == 0, result.stderr
    assert upstream_ref(forge) == result.stdout.strip()


LEAKS = {
    "tip": "echo 'token = \"{t}\"' > config.py && git add . && {c} -m 'add config'",
    "non-tip-of-new-branch": (
        "git checkout -q -b feature && echo 'token = \"{t}\"' > config.py && git add . && {c} -m leak"
        " && git rm -q config.py && {c} -m 'remove it again'"
    ),
    "merge-commit-only": (
        "git checkout -q -b side && echo side > side.txt && git add . && {c} -m side && git checkout -q main"
        " && echo main > main.txt && git add . && {c} -m main"
        " && git merge -q --no-commit side; echo 'token = \"{t}\"' > merged.py && git add . && {c} -m merge"
    ),
    "commit-message-only": "{c} --allow-empty -m 'deploy with {t}'",
    "allow-marker": "echo 'token = \"{t}\"  # gitleaks:allow' > config.py && git add . && {c} -m 'allowed?'",
}


@pytest.mark.parametrize("case", list(LEAKS))
def test_a_push_with_a_secret_is_refused_whole(bottle, forge, work, case):
    token = github_token()
    before = upstream_refs(forge)
    setup = sh(bottle, f"cd {work} && " + LEAKS[case].format(t=token, c=COMMIT))
    assert setup.returncode == 0, setup.stderr
    # Two refs at once: a clean one rides along and must be refused too (the push is atomic).
    pushed = sh(bottle, f"cd {work} && git push origin HEAD HEAD:refs/heads/clean-rider-{case} 2>&1")
    assert pushed.returncode != 0
    assert "PUSH REJECTED by the bottle's git gate" in pushed.stdout
    assert token not in pushed.stdout and token[4:20] not in pushed.stdout
    expected_rule = "gitleaks-allow-marker" if case == "allow-marker" else "github-pat"
    assert f"rule {expected_rule}" in pushed.stdout
    assert "To review a finding: git show" in pushed.stdout
    assert upstream_refs(forge) == before


def test_the_finding_names_file_line_and_commit(bottle, work):
    token = github_token()
    sh(bottle, f"cd {work} && printf 'a\\nb\\nkey = \"{token}\"\\n' > deep.py && git add . && {COMMIT} -m deep")
    commit = sh(bottle, f"cd {work} && git rev-parse HEAD").stdout.strip()
    pushed = sh(bottle, f"cd {work} && git push origin HEAD 2>&1")
    assert f"rule github-pat  deep.py:3  commit {commit[:12]}" in pushed.stdout


def test_a_stale_push_is_refused_by_the_lease(bottle, forge, work):
    # Upstream moves after the gate refreshed its mirror and before the forwarded push arrives.
    forge.sh(f"echo {REPO} > /tmp/move-repo && touch /tmp/move-before-push")
    before = upstream_ref(forge)
    pushed = sh(bottle, f"cd {work} && {COMMIT} --allow-empty -m mine && git push origin HEAD 2>&1")
    assert pushed.returncode != 0
    assert "PUSH REJECTED" in pushed.stdout and "stale info" in pushed.stdout
    moved = upstream_ref(forge)
    assert moved != before  # the colleague's commit landed ...
    mine = sh(bottle, f"cd {work} && git rev-parse HEAD").stdout.strip()
    assert moved != mine  # ... and ours did not overwrite it


def test_delete_and_force_push_work_as_upstream(bottle, forge, work):
    assert sh(bottle, f"cd {work} && git push -q origin HEAD:refs/heads/doomed").returncode == 0
    assert upstream_ref(forge, "refs/heads/doomed") != "none"
    deleted = sh(bottle, f"cd {work} && git push -q origin :refs/heads/doomed")
    assert deleted.returncode == 0, deleted.stderr
    assert upstream_ref(forge, "refs/heads/doomed") == "none"
    rewrite = f"cd {work} && git pull -q --rebase && {COMMIT} --allow-empty -m one && git push -q"
    assert sh(bottle, rewrite).returncode == 0
    forced = sh(
        bottle,
        f"cd {work} && git reset -q --hard HEAD~1 && {COMMIT} --allow-empty -m two"
        " && git push -q -f && git rev-parse HEAD",
    )
    assert forced.returncode == 0, forced.stderr
    assert upstream_ref(forge) == forced.stdout.strip()
    tag = sh(
        bottle,
        f"cd {work} && git -c user.name=agent -c user.email=agent@test tag -a v1 -m release && git push -q origin v1",
    )
    assert tag.returncode == 0, tag.stderr
    assert upstream_ref(forge, "refs/tags/v1") != "none"


def test_concurrent_pushes_and_a_fetch_stay_consistent(bottle, forge, work):
    script = (
        f"set -e; cd {work}; git pull -q --rebase\n"
        f"git checkout -q -b c1; {COMMIT} --allow-empty -m c1; git checkout -q main\n"
        f"git checkout -q -b c2; {COMMIT} --allow-empty -m c2; git checkout -q main\n"
        "git push -q origin c1 & p1=$!; git push -q origin c2 & p2=$!; git fetch -q & p3=$!\n"
        "wait $p1; wait $p2; wait $p3; git ls-remote origin"
    )
    result = sh(bottle, script)
    assert result.returncode == 0, result.stderr
    through_gate = {tuple(line.split("\t")) for line in result.stdout.splitlines() if "HEAD" not in line}
    upstream = {tuple(line.split(" ")) for line in forge.sh(f"git -C /srv/git/{REPO}.git show-ref -d").splitlines()}
    assert through_gate == upstream
    assert {ref for _, ref in upstream} >= {"refs/heads/c1", "refs/heads/c2"}


def test_the_agent_holds_no_upstream_key(bottle, key, client):
    body = key.private.decode().splitlines()[2]
    files = sh(bottle, search_everywhere(body))
    assert files.stdout == ""
    assert body not in sh(bottle, "env").stdout
    listing = sh(bottle, "ls -A ~/.ssh 2>/dev/null; ls -A /run/bottle")
    assert listing.stdout.strip() == ""
    agent = client.containers.get(f"bottle-tester-{bottle}-agent")
    assert body not in subprocess.run(["docker", "inspect", agent.id], capture_output=True, text=True).stdout


def test_with_upstream_gone_fetch_and_push_are_refused(bottle, forge, work, client, upstream_network):
    network = client.networks.get(upstream_network)
    network.disconnect(forge.container)
    try:
        fetch = sh(bottle, f"cd {work} && git fetch 2>&1")
        assert fetch.returncode != 0
        assert "upstream unavailable, refusing to serve a stale copy" in fetch.stdout
        push = sh(bottle, f"cd {work} && {COMMIT} --allow-empty -m offline && git push origin HEAD 2>&1")
        assert push.returncode != 0
        assert "upstream unavailable" in push.stdout
        clone = sh(bottle, f"cd $(mktemp -d) && git clone git@forge.test:{REPO}.git 2>&1")
        assert clone.returncode != 0
    finally:
        network.connect(forge.container, aliases=["forge.test"])
    # and it serves again once upstream is back
    assert sh(bottle, f"cd {work} && git fetch -q").returncode == 0


def test_an_unreachable_upstream_fails_the_launch_with_the_reason(tmp_path, key, upstream_network):
    identity = tmp_path / "id"
    identity.write_bytes(key.private)
    entry = {
        "Host": "gone",
        "Hostname": "nowhere.test",
        "IdentityFile": str(identity),
        "KnownHostKey": key.public,
        "Repos": [REPO],
    }
    manifest = tmp_path / "claude-bottle.json"
    manifest.write_text(json.dumps({"bottles": {"g": {"git": [entry]}}, "agents": {"tester": {"bottle": "g"}}}))
    result = launch_yes(manifest, upstream_network, ("true",))
    assert result.returncode == 1
    assert "sidecar git exited before it was ready" in result.stderr
    assert "nowhere.test" in result.stderr
    assert "Traceback" not in result.stderr
