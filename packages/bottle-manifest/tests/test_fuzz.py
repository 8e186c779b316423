"""For any JSON document (and any text), loading either succeeds or raises ManifestError; and what
it accepts is valid: the published JSON Schema accepts the document too, every bottle and agent
declared is there and of its type, every agent resolves to the bottle it names, and its
allowlist holds the defaults and normalised host names only, its rules restricting those hosts."""

import json
import tempfile
from pathlib import Path
from typing import Any

import bottle_manifest as bm
from bottle_manifest import _jsonc as jsonc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from manifest_helpers import ED25519, KNOWN_HOST_KEY, schema_errors, ssh_entry

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
keys = st.sampled_from(
    [
        "bottles",
        "agents",
        "env",
        "ssh",
        "git",
        "egress",
        "allowlist",
        "bottle",
        "skills",
        "prompt",
        "Host",
        "Hostname",
        "Port",
        "User",
        "IdentityFile",
        "KnownHostKey",
        "ExtraHosts",
        "Repos",
        "$schema",
        "x",
    ]
) | st.text(max_size=8)
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5), max_leaves=30
)


# Manifests as a person writes them, each maybe with one value or key gone wrong: they reach the
# deeper validators, and half of them load (random JSON almost never does), so the checks on
# what loads have something to check.
names = st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True)
env_values = st.sampled_from(["plain", "?paste a token", "${HOME}", "$$5", "a${B}c"]) | st.text(max_size=8).filter(
    lambda text: "$" not in text
)
hosts = st.sampled_from(["github.com", "GitHub.COM.", "Bücher.de", "*.Example.org", "api.anthropic.com", "x.io"])
# Method-and-path rules: each with methods, paths or both (neither is its own, known, error).
rules = st.fixed_dictionaries(
    {"host": hosts},
    optional={
        "methods": st.lists(st.sampled_from(["GET", "head", "POST", "PROPFIND"]), min_size=1, max_size=2),
        "paths": st.lists(st.sampled_from(["/", "/repos/acme/*", "/v1/**", "/a/b/", "/x/*/y"]), min_size=1, max_size=2),
    },
).filter(lambda rule: "methods" in rule or "paths" in rule)
credentials = st.fixed_dictionaries(
    {"value": env_values, "hosts": st.lists(hosts, min_size=1, max_size=2)},
    optional={"swap_in": st.lists(st.sampled_from(["headers", "url", "body"]), min_size=1, max_size=3)},
)
entry_changes = st.fixed_dictionaries(
    {},
    optional={
        "Port": st.integers(1, 65535),
        "User": st.sampled_from(["git", "deploy.bot", "svc_ci-01"]),
        "Hostname": st.sampled_from(["gitea.example.com", "1.1.1.1", "forge.example.org"]),
        "KnownHostKey": st.sampled_from([KNOWN_HOST_KEY, f"ssh-ed25519 {ED25519}", f"[h]:2222 ssh-ed25519 {ED25519}"]),
        "ExtraHosts": st.dictionaries(st.just("gitea.example.com"), st.sampled_from(["8.8.8.8", "2606:4700::1111"])),
    },
)
bottles = st.fixed_dictionaries(
    {},
    optional={
        "env": st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True), env_values | credentials),
        # distinct aliases: a repeated one is its own, known, error
        "ssh": st.lists(entry_changes, max_size=2).map(
            lambda changes: [ssh_entry(Host=f"gitea{i}", **c) for i, c in enumerate(changes)]
        ),
        "egress": st.fixed_dictionaries({}, optional={"allowlist": st.lists(hosts | rules, max_size=3)}),
    },
)


@st.composite
def written_manifests(draw: st.DrawFn) -> dict[str, Any]:
    declared = draw(st.dictionaries(names, bottles, max_size=2))
    document: dict[str, Any] = {"bottles": declared} if declared or draw(st.booleans()) else {}
    if declared:
        agent = st.fixed_dictionaries(
            {"bottle": st.sampled_from(sorted(declared))},
            optional={"prompt": st.text(max_size=10), "skills": st.lists(names, max_size=2)},
        )
        document["agents"] = draw(st.dictionaries(names, agent, max_size=2))
    return document


def places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value in `node`, itself included."""
    found = [path]
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found += places(child, (*path, key))
    return found


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    """A written manifest; half of them with one value replaced by any scalar, or one key renamed."""
    document = draw(written_manifests())
    if draw(st.booleans()):
        return document
    *parent_path, last = draw(st.sampled_from(places(document)[1:] or [("x",)]))
    parent: Any = document
    for key in parent_path:
        parent = parent[key]
    if isinstance(parent, dict) and last in parent and draw(st.booleans()):
        parent[draw(st.text(max_size=8))] = parent.pop(last)
    else:
        parent[last] = draw(scalars)
    return document


def load_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "claude-bottle.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            manifest = bm.load(path, home=tmp)
        except bm.ManifestError as exc:
            assert exc.issues
            assert all(issue.file and issue.path and issue.message for issue in exc.issues)
            return
        check_accepted(manifest, jsonc.loads(text)[0])


def check_accepted(manifest: bm.Manifest, document: dict[str, Any]) -> None:
    """What loaded from `document` (the file's JSON) is valid."""
    # an editor checking the file against the published schema would not flag it either
    assert schema_errors(document) == []
    assert set(manifest.bottles) == set(document.get("bottles", {}))
    assert set(manifest.agents) == set(document.get("agents", {}))
    for sourced in manifest.bottles.values():
        bottle = sourced.bottle
        assert isinstance(bottle, bm.Bottle)
        assert all(isinstance(value, str | bm.Credential) for value in bottle.env.values())
        assert all(isinstance(entry, bm.SshEntry) and 1 <= entry.port <= 65535 for entry in bottle.ssh)
        assert len({entry.host for entry in [*bottle.ssh, *bottle.git]}) == len(bottle.ssh) + len(bottle.git)
    for name in manifest.agents:
        spec = manifest.agent(name)
        assert isinstance(spec.agent, bm.Agent)
        # the agent runs in the bottle it names, which exists
        assert spec.bottle is manifest.bottles[spec.bottle_name].bottle
        assert spec.bottle_name == document["agents"][name]["bottle"]
        # the defaults plus the bottle's own hosts, sorted, each normalised: lowercase, no
        # scheme, path, port or trailing dot
        allowlist = spec.egress_allowlist
        assert allowlist == sorted(set(allowlist))
        assert set(bm.DEFAULT_EGRESS_ALLOWLIST) | set(spec.bottle.egress.hosts) == set(allowlist)
        for host in allowlist:
            assert host == host.lower().rstrip(".") and not any(c in host for c in ":/ ")
        # each rule restricts its host (on the allowlist) by upper-case methods and / patterns
        for rule in spec.egress_rules:
            assert rule.host in allowlist and (rule.methods or rule.paths)
            assert all(method == method.upper() for method in rule.methods)
            assert all(path.startswith("/") and "//" not in path for path in rule.paths)


fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(documents)
def test_any_json_document(document):
    load_text(json.dumps(document))


@fuzz
@given(manifests())
def test_manifest_shaped_documents(document):
    load_text(json.dumps(document))


@fuzz
@given(st.text(max_size=200))
# random text almost never loads: these do, so the checks on what loads run here too
@example('{"bottles": {"b": {}}, "agents": {"a": {"bottle": "b"}}}')
@example(
    '// a comment\n{"bottles": {"b": {"egress": {"allowlist": ["GitHub.COM."]}}}, "agents": {"a": {"bottle": "b"}}}'
)
def test_any_text(text):
    load_text(text)
