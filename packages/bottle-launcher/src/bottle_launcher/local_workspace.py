"""A repository on this machine as the agent's workspace (`--workspace PATH`), with the git gate
between them.

In: the launcher bundles the repository's branches and tags (and, asked to, the uncommitted
changes as one commit on top) and hands the bundle to the git gate, which serves it as one more
mirror; claude starts in a clone of it. Out: the agent pushes to that mirror, where the gate's
pre-receive scan applies in full; the launcher fetches what was accepted back into the local
repository under refs/remotes/bottle/<agent>/, never touching the user's branches, index or
working tree. Everything is checked, and the bundle made, before the engine is contacted.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bottle_contract.git import MIRROR_MEMBERS
from bottle_manifest import format_size

from .errors import LaunchError
from .plan import WorkspaceRepo

BUNDLE_LIMIT = 512 << 20  # bytes: a bundle over this is refused before anything starts
# A clone archive over this is not made (it is held in memory); the agent then clones through the
# gate itself, which is slower under gVisor but bounded by the volume, not by our memory.
CLONE_ARCHIVE_LIMIT = 512 << 20
# Git on the host, making the agent's clone, reads none of the user's configuration: a global
# filter (git-lfs smudge), autocrlf or a template's hooks would run here, or change what the
# bottle gets, where the agent's own clone would not.
ISOLATED_GIT = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
# A moment's ref in the user's repository while bundling (deleted right after), and the bundle's
# name for the uncommitted changes.
CHANGES_REF = "refs/claude-bottle/with-changes"
GIT_TIMEOUT = 300


def _git(path: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(
        ["git", "-C", str(path), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        env={**os.environ, **(env or {})},
    )
    if check and done.returncode != 0:
        raise LaunchError(f"git {args[0]} in {path} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def folder_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.name).strip("-.")
    return name or "workspace"


def inspect(path: Path, with_changes: bool = False) -> WorkspaceRepo:
    """The workspace at `path`, or a LaunchError saying why it cannot be one."""
    if not path.exists():
        raise LaunchError(f"workspace {path} does not exist")
    try:
        inside = _git(path, "rev-parse", "--is-inside-work-tree", check=False)
        bare = _git(path, "rev-parse", "--is-bare-repository", check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LaunchError(f"workspace {path}: git cannot read it ({exc})") from None
    if bare == "true":
        raise LaunchError(
            f"workspace {path} is a bare repository: it has no working tree to give the agent",
            hint="give a clone of it with a checked-out branch",
        )
    if inside != "true":
        raise LaunchError(f"workspace {path} is not a git repository", hint="`git init` it, or give its folder")
    top = Path(_git(path, "rev-parse", "--show-toplevel"))
    branch = _git(top, "symbolic-ref", "-q", "HEAD", check=False)
    if not branch:
        raise LaunchError(f"workspace {top} has a detached HEAD", hint="check out a branch first")
    if not _git(top, "rev-parse", "-q", "--verify", "HEAD", check=False):
        raise LaunchError(f"workspace {top} has no commits yet (its branch is unborn)", hint="commit something first")
    return WorkspaceRepo(str(top), folder_name(top), branch, with_changes, (top / ".gitmodules").exists())


def has_changes(workspace: WorkspaceRepo) -> bool:
    return bool(_git(Path(workspace.path), "status", "--porcelain"))


def make_bundle(workspace: WorkspaceRepo, limit: int = BUNDLE_LIMIT) -> bytes:
    """Branches and tags, and with_changes a commit of the uncommitted changes (untracked files
    that are not ignored included) at CHANGES_REF. The user's branch, index and working tree are
    not touched: the commit is made through an index of our own."""
    path = Path(workspace.path)
    refs = ["--branches", "--tags"]
    with tempfile.TemporaryDirectory(prefix="claude-bottle-") as tmp:
        made_ref = False
        try:
            if workspace.with_changes and has_changes(workspace):
                index = Path(tmp) / "index"
                real = Path(_git(path, "rev-parse", "--path-format=absolute", "--git-path", "index"))
                if real.exists():
                    index.write_bytes(real.read_bytes())
                env = {"GIT_INDEX_FILE": str(index)}
                _git(path, "add", "-A", env=env)
                tree = _git(path, "write-tree", env=env)
                message = "Uncommitted changes, brought into the bottle by --with-changes"
                commit = _git(path, "-c", "user.name=claude-bottle", "-c", "user.email=claude-bottle@localhost",
                              "commit-tree", tree, "-p", "HEAD", "-m", message)  # fmt: skip
                _git(path, "update-ref", CHANGES_REF, commit)
                made_ref = True
                refs.append(CHANGES_REF)
            bundle = Path(tmp) / "workspace.bundle"
            _git(path, "bundle", "create", "--quiet", str(bundle), *refs)
        finally:
            if made_ref:
                _git(path, "update-ref", "-d", CHANGES_REF, check=False)
        size = bundle.stat().st_size
        if size > limit:
            raise LaunchError(
                f"workspace {path} makes a {format_size(size)} bundle; the limit is {format_size(limit)}",
                hint="give a smaller repository (a shallow or partial clone of it), or push it to a forge "
                "and declare it as a git entry",
            )
        return bundle.read_bytes()


@dataclass(frozen=True)
class Prepared:
    """What a bottle gets of the workspace, made on this machine with native git."""

    mirror: bytes  # the git gate's bare mirror (bottle_contract.git.WORKSPACE_MIRROR)
    clone: bytes | None  # the agent's clone for its working folder; None: the agent clones it


def prepare(
    workspace: WorkspaceRepo, bundle: bytes, url: str, uid: int, clone: bool = True, limit: int = CLONE_ARCHIVE_LIMIT
) -> Prepared:
    """The gate's mirror and (with `clone`) the agent's clone, each as a tar, made here from the
    bundle instead of by git under gVisor, where indexing the mirror's objects took 1.2 s and
    checking out the clone's 10,000 files 7 s (measured).

    The mirror is what the gate would make of the bundle: the user's branches and tags, the
    uncommitted changes (--with-changes) as the tip of their branch, HEAD on it. The clone is
    what `git clone <url>` through the gate gives: origin is the gate, the user's branch checked
    out and tracking origin's, the other branches and the tags as origin's; its entries are under
    `workspace.name`, owned by `uid`. It is None when it would be over `limit`."""
    with tempfile.TemporaryDirectory(prefix="claude-bottle-", dir=_scratch(len(bundle))) as tmp:
        source, mirror = Path(tmp) / "workspace.bundle", Path(tmp) / "mirror.git"
        source.write_bytes(bundle)
        _git(Path(tmp), "init", "-q", "--bare", "--template=", str(mirror), env=ISOLATED_GIT)
        _git(mirror, "fetch", "-q", str(source), "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
             env=ISOLATED_GIT)  # fmt: skip
        if workspace.with_changes and CHANGES_REF in _git(
            mirror, "bundle", "list-heads", str(source), env=ISOLATED_GIT
        ):
            _git(mirror, "fetch", "-q", str(source), f"+{CHANGES_REF}:{workspace.head}", env=ISOLATED_GIT)
        _git(mirror, "symbolic-ref", "HEAD", workspace.head, env=ISOLATED_GIT)
        return Prepared(
            _mirror_tar(mirror), _clone(mirror, Path(tmp) / workspace.name, url, uid, limit) if clone else None
        )


def _mirror_tar(mirror: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in MIRROR_MEMBERS:
            if (mirror / name).exists():
                tar.add(mirror / name, arcname=name)
    return buffer.getvalue()


def _clone(mirror: Path, clone: Path, url: str, uid: int, limit: int) -> bytes | None:
    _git(mirror.parent, "clone", "-q", "--no-checkout", "--template=", "--", str(mirror), str(clone), env=ISOLATED_GIT)
    _git(clone, "remote", "set-url", "origin", url, env=ISOLATED_GIT)
    # The index records each file's inode, which the engine's unpacking changes, and gVisor
    # numbers inodes per sandbox anyway: with the full check, the agent's first `git status`
    # would read all 10,000 files again (3 s, measured). Size and mtime carry over.
    _git(clone, "config", "core.checkStat", "minimal", env=ISOLATED_GIT)
    _git(clone, "config", "core.trustCtime", "false", env=ISOLATED_GIT)
    _git(clone, "reset", "-q", "--hard", "HEAD", env=ISOLATED_GIT)
    return _tar(clone, clone.name, uid, limit)


def _scratch(bundle_size: int) -> str | None:
    """Where the clone is made: in memory (/dev/shm) when it has room for several times the
    bundle, since the clone is packed and deleted at once. A disk folder costs more than the
    clone itself here: 10,000 files took 4.7 s to check out on this machine's disk, 0.1 s in
    /dev/shm (measured). None: the system's temporary folder."""
    shm = Path("/dev/shm")
    try:
        room = shutil.disk_usage(shm).free if shm.is_dir() and os.access(shm, os.W_OK) else 0
    except OSError:
        room = 0
    return str(shm) if room > 8 * bundle_size + (256 << 20) else None


def _tar(folder: Path, name: str, uid: int, limit: int) -> bytes | None:
    # The index must be newer than every file it describes, by a whole second: an entry as new
    # as its index is "racily clean", and git would read that file again on every status.
    index = folder / ".git" / "index"
    later = time.time() + 1
    os.utime(index, (later, later))
    flags = _system_tar_flags(uid)
    if flags is None:
        return _python_tar(folder, name, uid, limit)
    # The system's tar: 10,000 files in 0.1 s, against 1.2 s for tarfile (measured).
    with subprocess.Popen(
        ["tar", "-c", "-f", "-", "-C", str(folder.parent), *flags, name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as tar:
        assert tar.stdout is not None and tar.stderr is not None
        out = bytearray()
        while chunk := tar.stdout.read(1 << 20):
            out += chunk
            if len(out) > limit:
                tar.kill()
                return None
        error = tar.stderr.read().decode(errors="replace").strip()
    if tar.returncode != 0:
        raise LaunchError(f"packing the workspace's clone failed: {error}")
    return bytes(out)


def _system_tar_flags(uid: int) -> list[str] | None:
    """How this machine's tar sets every entry's owner to `uid` (GNU tar or bsdtar); None if
    neither is here."""
    try:
        version = subprocess.run(["tar", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    if "GNU tar" in version:
        return [f"--owner={uid}", f"--group={uid}", "--numeric-owner"]
    if "bsdtar" in version:
        return ["--uid", str(uid), "--gid", str(uid), "--numeric-owner"]
    return None


def _python_tar(folder: Path, name: str, uid: int, limit: int) -> bytes | None:
    paths = [folder]
    for top, dirs, files in os.walk(folder):  # symbolic links stay links, never followed
        dirs.sort()
        paths += [Path(top, entry) for entry in (*dirs, *sorted(files))]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in paths:
            info = _entry(path, name if path == folder else f"{name}/{path.relative_to(folder).as_posix()}", uid)
            if info is None:
                continue
            if info.isreg():
                with path.open("rb") as data:
                    tar.addfile(info, data)
            else:
                tar.addfile(info)
            if buffer.tell() > limit:
                return None
    return buffer.getvalue()


def _entry(path: Path, arcname: str, uid: int) -> tarfile.TarInfo | None:
    """The tar header of `path`, owned by `uid` (built here: tarfile's own looks up user names
    for every file, which is most of its time on 10,000 files)."""
    status = path.lstat()
    info = tarfile.TarInfo(arcname)
    info.mode = stat.S_IMODE(status.st_mode)
    info.mtime = int(status.st_mtime)
    info.uid = info.gid = uid
    if stat.S_ISDIR(status.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(status.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
    elif stat.S_ISREG(status.st_mode):
        info.size = status.st_size
    else:
        return None  # git makes nothing else in a clone
    return info


def namespace(agent: str) -> str:
    return f"refs/remotes/bottle/{agent}"


def known_commits(workspace_path: Path, agent: str) -> list[str]:
    """Commits the local repository already has at its branch, tag and bottle refs: what a bundle
    coming back need not carry."""
    out = _git(workspace_path, "for-each-ref", "--format=%(objectname)", "refs/heads", "refs/tags", namespace(agent))
    return list(dict.fromkeys(out.split()))[:1000]


def fetch_back(workspace_path: Path, agent: str, bundle: bytes) -> list[str]:
    """Fetch the branches and tags of a bundle from the gate's mirror into the bottle's namespace;
    the lines git printed about what changed (none: nothing new)."""
    if not bundle:
        return []
    with tempfile.TemporaryDirectory(prefix="claude-bottle-") as tmp:
        path = Path(tmp) / "back.bundle"
        path.write_bytes(bundle)
        ns = namespace(agent)
        done = subprocess.run(
            ["git", "-C", str(workspace_path), "fetch", "--no-tags", "--no-write-fetch-head", str(path),
             f"+refs/heads/*:{ns}/*", f"+refs/tags/*:{ns}/tags/*"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT,
        )  # fmt: skip
    if done.returncode != 0:
        raise LaunchError(f"fetching the agent's pushes into {workspace_path} failed: {done.stderr.strip()}")
    return [line.strip() for line in done.stderr.splitlines() if "->" in line]


def point_refs(workspace_path: Path, agent: str, refs: list[tuple[str, str]]) -> list[str]:
    """Point the bottle's namespace at the mirror's refs whose commits the local repository has
    already. A bundle leaves those out (git omits a ref whose tip the other side has): a branch
    the agent made at an existing commit, say. A ref still where the user's own is was not
    pushed, and is left out. What changed, said as git fetch says it."""
    ns = namespace(agent)
    changed = []
    for commit, ref in refs:
        if _git(workspace_path, "rev-parse", "-q", "--verify", f"{ref}^{{commit}}", check=False) == commit:
            continue
        if ref.startswith("refs/heads/"):
            local = f"{ns}/{ref.removeprefix('refs/heads/')}"
        elif ref.startswith("refs/tags/"):
            local = f"{ns}/tags/{ref.removeprefix('refs/tags/')}"
        else:
            continue
        has = subprocess.run(["git", "-C", str(workspace_path), "cat-file", "-e", f"{commit}^{{commit}}"],
                             capture_output=True, timeout=GIT_TIMEOUT)  # fmt: skip
        current = _git(workspace_path, "rev-parse", "-q", "--verify", local, check=False)
        if has.returncode == 0 and current != commit:
            _git(workspace_path, "update-ref", local, commit)
            changed.append(f"{commit[:9]} {ref.removeprefix('refs/heads/')} -> {local}")
    return changed


# The mirror's branches and tags, one "<commit> <ref>" a line (tags peeled to their commit).
REFS = """cd "$1" || exit 3
git for-each-ref --format='%(if)%(*objectname)%(then)%(*objectname)%(else)%(objectname)%(end) %(refname)' \
  refs/heads refs/tags
"""


# Run in the git gate: a bundle of the mirror's branches and tags without what the local
# repository has (the commits given as arguments, those the mirror knows); empty output when
# nothing is new.
EXPORT = """set -u
repo=$1; shift
cd "$repo" || exit 3
not=""
for commit in "$@"; do
  git cat-file -e "$commit^{commit}" 2>/dev/null && not="$not ^$commit"
done
git bundle create - --branches --tags $not 2>/tmp/export.err || {
  grep -q "empty bundle" /tmp/export.err && exit 0
  cat /tmp/export.err >&2; exit 1
}
"""
