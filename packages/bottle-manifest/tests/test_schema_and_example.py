import json
from pathlib import Path

import bottle_manifest as bm
from bottle_manifest import _jsonc as jsonc
from manifest_helpers import manifest, schema_errors, ssh_entry

ROOT = Path(__file__).resolve().parents[3]


def test_docs_schema_is_in_sync():
    on_disk = json.loads((ROOT / "docs" / "manifest.schema.json").read_text())
    assert on_disk == bm.json_schema(), "run: bottle-launch schema > docs/manifest.schema.json"


def test_schema_describes_the_seed_keys():
    schema = bm.json_schema()
    defs = schema["$defs"]
    assert set(schema["properties"]) == {"$schema", "bottles", "agents"}
    assert schema["additionalProperties"] is False
    assert {"Host", "Hostname", "User", "Port", "IdentityFile", "KnownHostKey", "ExtraHosts"} <= set(
        defs["SshEntry"]["properties"]
    )
    assert "Repos" in defs["GitEntry"]["properties"]
    assert defs["SshEntry"]["properties"]["Port"]["maximum"] == 65535


def test_example_manifest_is_valid_and_uses_every_section(tmp_path):
    manifest = bm.load(ROOT / "claude-bottle.example.json", home=tmp_path)
    spec = manifest.agent("demo")
    bottle = spec.bottle
    assert set(spec.env_sources().values()) == {"literal", "prompt", "host"}
    assert bottle.ssh and bottle.git and bottle.egress.allowlist and bottle.git[0].extra_hosts
    assert spec.agent.skills and spec.agent.prompt
    assert bottle.resources.memory == 4 << 30 and bottle.resources.tmp == 512 << 20
    assert set(bm.DEFAULT_EGRESS_ALLOWLIST) <= set(spec.egress_allowlist)
    assert spec.egress_allowlist == sorted(spec.egress_allowlist)
    assert spec.egress_rules and {rule.host for rule in spec.egress_rules} <= set(spec.egress_allowlist)


def test_the_readme_quickstart_manifest_is_valid(tmp_path):
    manifest = bm.load(ROOT / "examples" / "quickstart.json", home=tmp_path)
    assert manifest.agent("quickstart").bottle_name == "quickstart"


def test_the_examples_conform_to_the_schema():
    for path in (ROOT / "claude-bottle.example.json", ROOT / "examples" / "quickstart.json"):
        assert schema_errors(jsonc.loads(path.read_text())[0]) == [], path


def test_the_schema_check_finds_what_the_schema_forbids():
    """A positive control for schema_errors, which the fuzz tests rely on: each document breaks
    the schema once, and the check says where."""
    entry = ssh_entry()
    del entry["KnownHostKey"]
    broken = {
        "$.bottles.dev.ssh[0].Port: 0 breaks minimum 1": manifest(ssh=[ssh_entry(Port=0)]),
        "$.bottles.dev.ssh[0].Port: 70000 breaks maximum 65535": manifest(ssh=[ssh_entry(Port=70000)]),
        "$.bottles.dev.ssh[0].Port: not of type integer": manifest(ssh=[ssh_entry(Port="22")]),
        "$.bottles.dev.ssh[0].IdentityFile: shorter than 1": manifest(ssh=[ssh_entry(IdentityFile="")]),
        "$.bottles.dev.egress.allowlist[1]: matches 0 of oneOf, not exactly one": manifest(
            egress={"allowlist": ["a.com", 5]}
        ),
        # A rule entry must restrict something: methods, paths or both.
        "$.bottles.dev.egress.allowlist[0]: matches 0 of oneOf, not exactly one": manifest(
            egress={"allowlist": [{"host": "a.com"}]}
        ),
        "$.bottles.dev.git[0].Repos: fewer than 1 items": manifest(git=[{**ssh_entry(), "Repos": []}]),
        "$.bottles.dev.ssh[0].KnownHostKey: required": manifest(ssh=[entry]),
        "$.bottles.dev.ssh[0].Prot: not allowed": manifest(ssh=[ssh_entry(Prot=22)]),
        "$.bottles.dev.env.A: matches 0 of oneOf, not exactly one": manifest(env={"A": 5}),
        "$.bottles.dev.egress.mode: 'off' is not one of ['enforce', 'report']": manifest(egress={"mode": "off"}),
        "$.bottles.dev.resources.memory: matches none of anyOf": manifest(resources={"memory": "4g\n"}),
        "$.agents.helper.bottle: required": {"bottles": {"dev": {}}, "agents": {"helper": {}}},
        "$.botles: not allowed": {"botles": {}},
    }
    for error, document in broken.items():
        assert schema_errors(document) == [error]
    assert schema_errors(manifest(ssh=[ssh_entry(Port=2.0)], resources={"memory": "4g", "pids": 64})) == []
