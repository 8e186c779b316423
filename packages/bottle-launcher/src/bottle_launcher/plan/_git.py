"""The git gate as plain data: its config, the pinned upstream keys, and the agent's
~/.gitconfig that rewrites every form of each declared repository's URL to the gate."""

from __future__ import annotations

import json

from ._model import GitRemote, Plan
from ._ssh import key_alias, known_hosts_line

GIT_GATE_HOST = "git-gate"
GIT_GATE_PORT = 9418
GIT_GATE_UID = 997
GIT_GATE_HANDOVER = "/run/git-gate"  # tmpfs in the gate: upstream identities, never on disk
GIT_GATE_IMPORT = "/srv/import"  # the workspace bundle is put here before the gate starts
WORKSPACE_BUNDLE = "workspace.bundle"
WORKSPACE_CHANGES_REF = "refs/claude-bottle/with-changes"  # in the bundle, with --with-changes
# The refs a push through the gate may touch (git_gate._config.PUSH_REFS, written out so the
# config shows the policy): what the mirror fetches back, and what a forge shows.
GIT_GATE_PUSH_REFS = ("refs/heads/*", "refs/tags/*")


def url_forms(remote: GitRemote, repo: str) -> list[str]:
    """Every way a user or tool spells this repository's URL. Without `.git`: git's insteadOf
    rewrites prefixes, so `name` covers `name.git` too, and the daemon finds either."""
    user, host, port = remote.user, remote.hostname, remote.port
    forms = [f"ssh://{user}@{host}:{port}/{repo}"]
    if port == 22:
        forms += [f"ssh://{user}@{host}/{repo}", f"{user}@{host}:{repo}"]
    forms += [f"{remote.host}:{repo}", f"ssh://{remote.host}/{repo}"]
    return list(dict.fromkeys(forms))


def gitconfig(plan: Plan) -> str:
    blocks = []
    for remote in plan.git:
        for repo in remote.repos:
            rules = "".join(f"\tinsteadOf = {form}\n" for form in url_forms(remote, repo))
            blocks.append(f'[url "git://{GIT_GATE_HOST}:{GIT_GATE_PORT}/{repo}"]\n{rules}')
    return "".join(blocks)


def gate_config(plan: Plan) -> bytes:
    remotes = [
        {
            "host": r.host,
            "hostname": r.hostname,
            "port": r.port,
            "user": r.user,
            "key_alias": key_alias(r),
            "repos": list(r.repos),
        }
        for r in plan.git
    ]
    config: dict[str, object] = {
        "bottle": plan.bottle,
        "port": GIT_GATE_PORT,
        "remotes": remotes,
        "push_refs": list(GIT_GATE_PUSH_REFS),
    }
    if plan.workspace is not None:
        config["workspace"] = {
            "repo": plan.workspace.repo,
            "bundle": f"{GIT_GATE_IMPORT}/{WORKSPACE_BUNDLE}",
            "head": plan.workspace.head,
            "changes_ref": WORKSPACE_CHANGES_REF if plan.workspace.with_changes else None,
        }
    return json.dumps(config, indent=2).encode()


def workspace_url(plan: Plan) -> str:
    """The agent's origin for the workspace: the gate itself (it has no upstream to rewrite)."""
    assert plan.workspace is not None
    return f"git://{GIT_GATE_HOST}:{GIT_GATE_PORT}/{plan.workspace.repo}"


def known_hosts(plan: Plan) -> bytes:
    return "".join(known_hosts_line(r) + "\n" for r in plan.git).encode()


def gate_extra_hosts(plan: Plan) -> dict[str, str]:
    return {name: ip for remote in plan.git for name, ip in remote.extra_hosts}
