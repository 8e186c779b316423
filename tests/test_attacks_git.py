"""Attacks on the git gate from inside a real bottle: real gitleaks 8.16 and git daemon in the
gate, a real sshd+git upstream. Each test shows the push refused, what the agent sees (its
`remote:` lines, never the token), that nothing reached upstream, and a positive control: the
same push gets through with the defence out of the way (pushed straight to a copy of upstream,
with the rule relaxed in the gate's config, or with a harmless payload), or the token is invisible
to gitleaks' scan of commits, which is what the gate ran before it scanned objects."""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass

import git_fixtures
import pytest
from git_fixtures import REPO, gate, github_token, set_gate_config, sh, upstream_has, upstream_ref, upstream_refs
from upstreams import Sshd

# The shared fixtures, bound here so that pytest finds them for this module.
key, forge, bottle, work, gate_config = (
    git_fixtures.key, git_fixtures.forge, git_fixtures.bottle, git_fixtures.work, git_fixtures.gate_config
)  # fmt: skip

# Shell helpers every attack script may use: `g` is git with an identity, `leak` prints a line
# holding the payload ($T: a token, or harmless words in a control). $N makes ref names unique.
HELPERS = (
    r"""g() { git -c user.name=agent -c user.email=agent@test "$@"; }; leak() { printf 'token = "%s"\n' "$T"; }; """
)
HARMLESS = "just some harmless words"
REJECTED = "remote: PUSH REJECTED by the bottle's git gate"
TEXT_FILE = "leak > settings.py && git add settings.py && g commit -q -m settings"


def prelude(payload: str, n: str) -> str:
    return f"export T={shlex.quote(payload)} N={n}; {HELPERS}"


@dataclass(frozen=True)
class Push:
    code: int
    output: str  # the push's stdout and stderr: what the agent sees
    n: str
    head: str  # HEAD after the script


def attack(bottle: str, work: str, payload: str, script: str, *refspecs: str) -> Push:
    """In a fresh state of the agent's clone, run `script`, then push the refspecs ($N expands)."""
    n = secrets.token_hex(3)
    result = sh(
        bottle,
        f"{prelude(payload, n)} cd {work} && git checkout -q -B main origin/main"
        f" && {{ {script}; }} >/dev/null && echo HEAD=$(git rev-parse HEAD) || exit 99\n"
        f"git push origin {' '.join(refspecs)} 2>&1",
    )
    assert result.returncode != 99, result.stdout + result.stderr
    head, _, output = result.stdout.partition("\n")
    return Push(result.returncode, output, n, head.removeprefix("HEAD="))


def assert_refused(push: Push, *lines: str, token: str = "") -> None:
    """Refused, with these `remote:` lines, and never a trace of the token."""
    assert push.code != 0, push.output
    assert REJECTED in push.output, push.output
    for line in lines:
        assert f"remote: {line}" in push.output, push.output
    assert not token or (token not in push.output and token[4:20] not in push.output)


def pushed_without_gate(forge: Sshd, token: str, script: str, ref: str) -> bool:
    """The same attack pushed straight to a scratch copy of upstream, no gate in between: does
    the token reach it (in any object the ref reaches)?"""
    scratch = f"/tmp/direct-{secrets.token_hex(4)}"
    out = forge.sh(
        f"set -e; {prelude(token, 'direct')}\n"
        f"git clone -q --bare /srv/git/{REPO}.git {scratch}/up.git && git clone -q {scratch}/up.git {scratch}/w\n"
        f"cd {scratch}/w && {{ {script}; }} >/dev/null && git push -q origin {ref}\n"
        f"git -C {scratch}/up.git rev-list --objects {ref} | cut -d' ' -f1 | git -C {scratch}/up.git cat-file --batch"
        f' | grep -qaF "$T" && echo reached || echo absent\n'
        f"rm -rf {scratch}"
    )
    return out.split()[-1] == "reached"  # the last line: git's hints come first


def commit_scan_finds(client, bottle: str, payload: str, script: str) -> bool:
    """gitleaks 8.16 over the commits' changes (`detect --log-opts "-m <tip> --not <base>"`), as
    the gate ran it before it scanned objects, in the gate's own image: does it flag them?"""
    run = (
        f'{prelude(payload, "old")} set -e; cd "$(mktemp -d)" && git init -q -b main\n'
        "g commit -q --allow-empty -m base && base=$(git rev-parse HEAD)\n"
        f"{{ {script}; }} >/dev/null\n"
        'set +e; gitleaks detect --source . --log-opts "-m $(git rev-parse HEAD) --not $base" --no-banner'
        ' --exit-code 42 --log-level error >/dev/null 2>&1; echo "exit=$?"'
    )
    _, out = gate(client, bottle).exec_run(["bash", "-c", run])
    verdict = out.decode(errors="replace").strip().splitlines()[-1]
    assert verdict in ("exit=0", "exit=42"), out
    return verdict == "exit=42"


# --- refs that are not commits -------------------------------------------------------------

BLOB = "blob=$(leak | git hash-object -w --stdin)"
REF_ATTACKS = {
    "lightweight tag of a blob": (f"{BLOB} && git tag x-$N $blob", "a blob"),
    "lightweight tag of a tree": (
        f"{BLOB} && tree=$(printf '100644 blob %s\\tleak.txt\\n' $blob | git mktree) && git tag x-$N $tree",
        "a tree",
    ),
    "annotated tag of a tag of a blob": (
        f"{BLOB} && g tag -a -m inner in-$N $blob && g tag -a -m outer x-$N in-$N",
        "a tag of a blob",
    ),
}


@pytest.mark.parametrize("case", list(REF_ATTACKS))
def test_a_ref_at_a_blob_or_tree_is_refused(bottle, forge, work, case):
    script, what = REF_ATTACKS[case]
    token = github_token()
    # Control: nothing but the gate stops it; git carries the token upstream.
    assert pushed_without_gate(forge, token, script, "refs/tags/x-direct")
    before = upstream_refs(forge)
    pushed = attack(bottle, work, token, f"{script} && echo $blob > /tmp/blob-$N", "refs/tags/x-$N")
    assert_refused(pushed, "PUSH REJECTED by the bottle's git gate: refs it does not forward.", token=token)
    assert f"remote:   refs/tags/x-{pushed.n}: points at {what}, not a commit" in pushed.output
    assert upstream_refs(forge) == before
    blob = sh(bottle, f"cat /tmp/blob-{pushed.n}").stdout.strip()
    assert len(blob) == 40 and not upstream_has(forge, blob)


def test_nested_annotated_tags_of_a_commit_still_land(bottle, forge, work):
    # Control for the rule above: it is the blob that is refused, not tags of tags.
    pushed = attack(bottle, work, HARMLESS, "g tag -a -m inner in-$N HEAD && g tag -a -m outer x-$N in-$N", "x-$N")
    assert pushed.code == 0, pushed.output
    assert upstream_ref(forge, f"refs/tags/x-{pushed.n}^{{}}") == pushed.head


# --- content gitleaks' commit scan never reads ---------------------------------------------

BINARIES = {
    "png header": r"printf '\211PNG\r\n\032\n\000\000\000\rIHDR'; leak; printf '\000\001\002'",
    "nul byte": r"printf 'abc\000def\n'; leak",
    "utf-16": "leak | iconv -f utf-8 -t utf-16le",
}


@pytest.mark.parametrize("case", list(BINARIES))
def test_a_token_in_a_binary_file_is_refused(client, bottle, forge, work, case):
    token = github_token()
    script = f"{{ {BINARIES[case]}; }} > logo.bin && git add logo.bin && g commit -q -m logo"
    # Controls: the commit scan misses the token in this file, and finds it in a text file.
    assert not commit_scan_finds(client, bottle, token, script)
    assert commit_scan_finds(client, bottle, token, TEXT_FILE)
    before = upstream_refs(forge)
    pushed = attack(bottle, work, token, script, "HEAD:refs/heads/atk-$N")
    assert_refused(pushed, f"  rule github-pat  logo.bin (binary)  commit {pushed.head[:12]}  blob ", token=token)
    assert upstream_refs(forge) == before and not upstream_has(forge, pushed.head)
    # Control: the same file, harmless, lands.
    clean = attack(bottle, work, HARMLESS, script, "HEAD:refs/heads/ctl-$N")
    assert clean.code == 0, clean.output
    assert upstream_ref(forge, f"refs/heads/ctl-{clean.n}") == clean.head


ALLOWLISTED_PATHS = ["vendor/lib/settings.py", "docs/spec.pdf"]


@pytest.mark.parametrize("path", ALLOWLISTED_PATHS)
def test_a_token_in_a_path_gitleaks_allowlists_is_refused(client, bottle, forge, work, path):
    token = github_token()
    script = f"mkdir -p {path.rsplit('/', 1)[0]} && leak > {path} && git add {path} && g commit -q -m add"
    # Control: 8.16's own allowlist skips the path in a commit scan; the same file elsewhere is found.
    assert not commit_scan_finds(client, bottle, token, script)
    assert commit_scan_finds(client, bottle, token, TEXT_FILE)
    before = upstream_refs(forge)
    pushed = attack(bottle, work, token, script, "HEAD:refs/heads/atk-$N")
    assert_refused(pushed, f"  rule github-pat  {path}:1  commit {pushed.head[:12]}  blob ", token=token)
    assert upstream_refs(forge) == before and not upstream_has(forge, pushed.head)


NAMES_AND_HEADERS = {
    "file name": ('echo harmless > "$T.txt" && git add . && g commit -q -m name', "a file name in tree "),
    "author name": (
        'git -c user.name="$T" -c user.email=a@test commit -q --allow-empty -m hi',
        "commit header  commit ",
    ),
}


@pytest.mark.parametrize("case", list(NAMES_AND_HEADERS))
def test_a_token_in_a_file_name_or_commit_header_is_refused(client, bottle, forge, work, case):
    script, where = NAMES_AND_HEADERS[case]
    token = github_token()
    assert not commit_scan_finds(client, bottle, token, script)  # control: the commit scan misses it
    before = upstream_refs(forge)
    pushed = attack(bottle, work, token, script, "HEAD:refs/heads/atk-$N")
    assert_refused(pushed, f"  rule github-pat  {where}", token=token)
    assert upstream_refs(forge) == before and not upstream_has(forge, pushed.head)


# --- messages and shared blobs -------------------------------------------------------------

TAG_MESSAGES = {
    "annotated tag": 'g tag -a -m "release $T" v-$N',
    "inner tag of a nested tag": 'g tag -a -m "inner $T" in-$N && g tag -a -m outer v-$N in-$N',
}


@pytest.mark.parametrize("case", list(TAG_MESSAGES))
def test_a_token_in_a_tag_message_is_refused(bottle, forge, work, case):
    token = github_token()
    before = upstream_refs(forge)
    pushed = attack(bottle, work, token, TAG_MESSAGES[case], "refs/tags/v-$N")
    assert_refused(pushed, "  rule github-pat  message of tag ", token=token)
    assert upstream_refs(forge) == before
    clean = attack(bottle, work, HARMLESS, TAG_MESSAGES[case], "refs/tags/v-$N")  # control
    assert clean.code == 0, clean.output
    assert upstream_ref(forge, f"refs/tags/v-{clean.n}^{{}}") == clean.head


SHARED_BLOB = (
    "git checkout -q -b a-$N && leak > one.py && git add . && g commit -q -m one"
    " && git rev-parse HEAD > /tmp/a-$N && git checkout -q -b b-$N origin/main"
    " && mkdir -p other && leak > other/two.py && git add . && g commit -q -m two"
)


def test_a_blob_two_refs_bring_in_is_refused_and_named_for_both(bottle, forge, work):
    token = github_token()
    before = upstream_refs(forge)
    pushed = attack(bottle, work, token, SHARED_BLOB, "a-$N", "b-$N")
    one = sh(bottle, f"cat /tmp/a-{pushed.n}").stdout.strip()
    blob = sh(bottle, f"cd {work} && git rev-parse {one}:one.py").stdout.strip()
    assert_refused(
        pushed,
        f"  rule github-pat  one.py:1  commit {one[:12]}  blob {blob[:12]}",
        f"  rule github-pat  other/two.py:1  commit {pushed.head[:12]}  blob {blob[:12]}",
        token=token,
    )
    assert upstream_refs(forge) == before and not upstream_has(forge, blob)
    clean = attack(bottle, work, HARMLESS, SHARED_BLOB, "a-$N", "b-$N")  # control: both land
    assert clean.code == 0, clean.output
    assert upstream_ref(forge, f"refs/heads/b-{clean.n}") == clean.head
    assert upstream_ref(forge, f"refs/heads/a-{clean.n}") != "none"


# --- refs outside branches and tags --------------------------------------------------------

OTHER_REFS = {
    "refs/notes/*": ("g notes add -f -m 'a note' HEAD", "refs/notes/commits", "refs/notes/commits"),
    "refs/foo/*": ("true", "HEAD:refs/foo/bar-$N", "refs/foo/bar-{n}"),
}


@pytest.mark.parametrize("pattern", list(OTHER_REFS))
def test_a_push_outside_branches_and_tags_is_refused(client, bottle, forge, work, gate_config, pattern):
    script, refspec, ref = OTHER_REFS[pattern]
    before = upstream_refs(forge)
    pushed = attack(bottle, work, HARMLESS, script, refspec)
    refused = ref.format(n=pushed.n)
    assert_refused(pushed, f"  {refused}: outside the refs this gate forwards (refs/heads/*, refs/tags/*)")
    assert upstream_refs(forge) == before
    # Control: with the pattern allowed in the gate's config, the same push lands.
    set_gate_config(gate(client, bottle), {**gate_config, "push_refs": [*gate_config["push_refs"], pattern]})
    allowed = attack(bottle, work, HARMLESS, script, refspec)
    assert allowed.code == 0, allowed.output
    assert upstream_ref(forge, ref.format(n=allowed.n)) != "none"


# --- the scan's budget ---------------------------------------------------------------------

BUDGETS = {
    "bytes": (
        {"max_bytes": 100_000},
        "head -c 60000 /dev/urandom | od -An -v -tx1 | tr -d ' \\n' > big.txt && git add . && g commit -q -m big",
        "this push adds more than 100,000 bytes of objects",
    ),
    "objects": (
        {"max_objects": 5},
        "for i in 1 2 3; do echo $i > f$i.txt && git add . && g commit -q -m $i; done",
        "this push adds more than 5 objects",
    ),
    "seconds": (
        {"seconds": 0.001},
        "echo t > t.txt && git add . && g commit -q -m t",
        "the secret scan took longer than its 0.001 s budget",
    ),
}


@pytest.mark.parametrize("limit", list(BUDGETS))
def test_a_push_over_the_scan_budget_is_refused(client, bottle, forge, work, gate_config, limit):
    budget, script, reason = BUDGETS[limit]
    set_gate_config(gate(client, bottle), {**gate_config, "scan_budget": budget})
    before = upstream_refs(forge)
    pushed = attack(bottle, work, HARMLESS, script, "HEAD:refs/heads/atk-$N")
    assert_refused(pushed, f"PUSH REJECTED by the bottle's git gate: {reason}")
    assert upstream_refs(forge) == before
    # Control: with the budget the launcher sets, the same push lands.
    set_gate_config(gate(client, bottle), gate_config)
    landed = attack(bottle, work, HARMLESS, script, "HEAD:refs/heads/ctl-$N")
    assert landed.code == 0, landed.output
    assert upstream_ref(forge, f"refs/heads/ctl-{landed.n}") == landed.head
