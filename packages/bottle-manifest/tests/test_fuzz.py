"""For any JSON document (and any text), loading either succeeds or raises ManifestError."""

import json
import tempfile
from pathlib import Path

import bottle_manifest as bm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from manifest_helpers import ssh_entry

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

# Documents shaped like manifests reach the deeper validators more often than random JSON does.
entry_values = st.fixed_dictionaries({}, optional={k: scalars | st.just(v) for k, v in ssh_entry().items()})
bottles = st.fixed_dictionaries(
    {},
    optional={
        "env": st.dictionaries(st.text(max_size=6), scalars, max_size=3),
        "ssh": st.lists(entry_values, max_size=2),
        "egress": st.fixed_dictionaries({}, optional={"allowlist": st.lists(st.text(max_size=12), max_size=3)}),
    },
)
manifests = st.fixed_dictionaries(
    {},
    optional={
        "bottles": st.dictionaries(st.text(max_size=6), bottles, max_size=2),
        "agents": st.dictionaries(
            st.text(max_size=6), st.fixed_dictionaries({"bottle": st.text(max_size=6)}), max_size=2
        ),
    },
)


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
        # What loads is valid: every agent names a bottle that exists, and its allowlist holds
        # normalised host names only (lowercase, no scheme, path, port or trailing dot).
        for name in manifest.agents:
            spec = manifest.agent(name)
            assert spec.bottle_name in manifest.bottles
            for host in spec.egress_allowlist:
                assert host == host.lower().rstrip(".") and not any(c in host for c in ":/ ")


fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(documents)
def test_any_json_document(document):
    load_text(json.dumps(document))


@fuzz
@given(manifests)
def test_manifest_shaped_documents(document):
    load_text(json.dumps(document))


@fuzz
@given(st.text(max_size=200))
def test_any_text(text):
    load_text(text)
