import json
from pathlib import Path

import bottle_manifest as bm

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


def test_the_readme_quickstart_manifest_is_valid(tmp_path):
    manifest = bm.load(ROOT / "examples" / "quickstart.json", home=tmp_path)
    assert manifest.agent("quickstart").bottle_name == "quickstart"
