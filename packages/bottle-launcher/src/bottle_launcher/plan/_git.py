"""The git gate as plain data: its config, the pinned upstream keys, and the agent's
~/.gitconfig that rewrites every form of each declared repository's URL to the gate."""

from __future__ import annotations

from bottle_contract.git import (
    HOST,
    IMPORT_DIR,
    PORT,
    PUSH_REFS,
    WORKSPACE_MIRROR,
    GitConfig,
    Remote,
    Workspace,
)

from ._model import GitRemote, Plan
from ._ssh import key_alias, known_hosts_line


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
            blocks.append(f'[url "git://{HOST}:{PORT}/{repo}"]\n{rules}')
    return "".join(blocks)


def git_config(plan: Plan) -> GitConfig:
    remotes = tuple(Remote(r.host, r.hostname, r.port, r.user, key_alias(r), tuple(r.repos)) for r in plan.git)
    workspace = None
    if plan.workspace is not None:
        workspace = Workspace(
            repo=plan.workspace.repo, archive=f"{IMPORT_DIR}/{WORKSPACE_MIRROR}", head=plan.workspace.head
        )
    # push_refs written out, though it is the gate's default, so the config shows the policy.
    return GitConfig(bottle=plan.bottle, remotes=remotes, port=PORT, push_refs=PUSH_REFS, workspace=workspace)


def gate_config(plan: Plan) -> bytes:
    return git_config(plan).to_json()


def workspace_url(plan: Plan) -> str:
    """The agent's origin for the workspace: the gate itself (it has no upstream to rewrite)."""
    assert plan.workspace is not None
    return f"git://{HOST}:{PORT}/{plan.workspace.repo}"


def known_hosts(plan: Plan) -> bytes:
    return "".join(known_hosts_line(r) + "\n" for r in plan.git).encode()


def gate_extra_hosts(plan: Plan) -> dict[str, str]:
    return {name: ip for remote in plan.git for name, ip in remote.extra_hosts}
