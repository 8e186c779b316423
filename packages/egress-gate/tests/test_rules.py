"""Method-and-path rules as pure functions: how a request path is read (`_paths.py`), which entry's
rules a host gets (`_routes.py`), where the step sits in the pipeline, and that a request the
rules refuse never gets a credential swapped in, in enforce mode or in report mode. The real
addon runs the same table in test_addon.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
from bottle_contract.egress import EgressConfig, Rule
from egress_gate._decision import evaluate, tls_step
from egress_gate._paths import UnclearPath, matches, segments
from egress_gate._request import Request
from egress_gate._routes import check_rules, withholds
from egress_gate._rules import Policy
from egress_gate._secrets import KnownSecret

GITHUB = ("api.github.com", "*.github.com", "plain.test")
RULES = (
    Rule("api.github.com", ("GET", "HEAD"), ("/repos/acme/*",)),
    Rule("api.github.com", ("POST",), ("/repos/acme/*/issues",)),  # an alternative
    Rule("*.github.com", paths=("/v1/**",)),
)
TOKEN = KnownSecret("real-token-0123456789", ("api.github.com",), "GH_TOKEN", "fake-token-9876543210")


def config(mode: str = "enforce", **changes) -> EgressConfig:
    return EgressConfig(bottle="dev", allowlist=GITHUB, rules=RULES, mode=mode, **changes)


def get(path: str, method: str = "GET", host: str = "api.github.com") -> Request:
    return Request(method, "https", host, 443, path, (("Host", host),), tunnel=True, sni=host, host_header=host)


# -- how a path is read ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "read"),
    [
        ("/", ()),
        ("/repos/acme/x", ("repos", "acme", "x")),
        ("/repos/acme/x/", ("repos", "acme", "x")),  # one trailing slash is ignored
        ("/repos/acme/x?per_page=1&q=a/../b", ("repos", "acme", "x")),  # the query is not the path
        ("/repos/acme/../other", ("repos", "other")),
        ("/repos/acme/./x", ("repos", "acme", "x")),
        ("/../../etc", ("etc",)),  # never above the root
        ("/repos/acme%2F..%2Fother", ("repos", "other")),  # decoded before the dots are resolved
        ("/repos/acme/%2e%2e/other", ("repos", "other")),
        ("/repos/acme/%2E%2E/other", ("repos", "other")),
        ("/repos/acme/..;x/other", ("repos", "other")),  # a dot segment with parameters, as Tomcat reads it
        ("/repos/acme\\..\\other", ("repos", "other")),  # a backslash is a separator
        ("/repos/acme%5C..%5Cother", ("repos", "other")),
        ("/repos/a%20b/x", ("repos", "a b", "x")),
        ("/repos/100%25/x", ("repos", "100%", "x")),  # a '%' that decodes to no escape is just a '%'
    ],
)
def test_a_path_is_read_decoded_with_its_dot_segments_resolved(path, read):
    assert segments(path) == read


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/repos/acme/%252e%252e/other", "percent-encoded twice"),
        ("/repos/acme%252F..%252Fother", "percent-encoded twice"),
        ("/repos//acme/x", "empty segment"),
        ("/repos/acme//../other", "empty segment"),  # collapsed: /repos/other; resolved: /repos/acme/other
        ("/repos/acme%2F%2Fx", "empty segment"),
        ("*", "not an absolute path"),
    ],
)
def test_a_path_servers_may_read_differently_is_unclear(path, why):
    with pytest.raises(UnclearPath, match=why):
        segments(path)


@pytest.mark.parametrize(
    ("pattern", "path", "matched"),
    [
        ("/repos/acme/*", "/repos/acme/x", True),
        ("/repos/acme/*", "/repos/acme", False),  # '*' is exactly one segment
        ("/repos/acme/*", "/repos/acme/x/y", False),
        ("/repos/*/x", "/repos/acme/x", True),
        ("/repos/acme/**", "/repos/acme", True),  # '**' is any rest, none included
        ("/repos/acme/**", "/repos/acme/x/y/z", True),
        ("/repos/acme/**", "/repos/acmeish/x", False),
        ("/**", "/", True),
        ("/", "/", True),
        ("/", "/x", False),
        ("/repos/Acme/*", "/repos/acme/x", False),  # case counts
    ],
)
def test_patterns_match_whole_segments(pattern, path, matched):
    assert matches(pattern, segments(path)) is matched


# -- the rules step ----------------------------------------------------------------------------


def test_a_method_rule_refuses_post_and_allows_get():
    refused = check_rules(config(), get("/repos/acme/x", "DELETE"))
    assert refused is not None and not refused.allowed and refused.rule == "method"
    assert refused.detail == "DELETE is not a method the rules for api.github.com allow (GET, HEAD, POST)"
    assert refused.hint == 'add "DELETE" to the methods of bottles.dev.egress.allowlist entry for api.github.com'
    posted = check_rules(config(), get("/repos/acme/x", "POST"))  # POST only on issues: a path refusal
    assert posted is not None and posted.rule == "path"
    allowed = check_rules(config(), get("/repos/acme/x"))
    assert allowed is not None and allowed.allowed and allowed.rule == "rules:api.github.com"
    assert allowed.detail == "GET /repos/acme/x matches a rule for api.github.com: GET, HEAD to /repos/acme/*"


def test_methods_compare_case_insensitively():
    step = check_rules(config(), get("/repos/acme/x", "get"))
    assert step is not None and step.allowed


def test_several_entries_for_a_host_are_alternatives():
    step = check_rules(config(), get("/repos/acme/app/issues", "POST"))
    assert step is not None and step.allowed and step.detail.endswith("POST to /repos/acme/*/issues")


@pytest.mark.parametrize(
    "path",
    ["/repos/other/x", "/repos/acme/../other", "/repos/acme%2F..%2Fother", "/repos/acme/%2e%2e/other", "/repos/acme"],
)
def test_a_path_rule_refuses_what_its_patterns_do_not_name(path):
    step = check_rules(config(), get(path))
    assert step is not None and not step.allowed and step.rule == "path"
    assert step.hint is not None and step.hint.startswith("add a pattern matching ")
    assert step.hint.endswith("to the paths of bottles.dev.egress.allowlist entry for api.github.com")


def test_a_path_refusal_quotes_the_path_as_resolved():
    step = check_rules(config(), get("/repos/acme%2F..%2Fother?q=1"))
    assert step is not None
    assert step.detail == "/repos/other is not a path the rules for api.github.com allow for GET (/repos/acme/*)"
    entry = "bottles.dev.egress.allowlist entry for api.github.com"
    assert step.hint == f'add a pattern matching "/repos/other" to the paths of {entry}'


def test_an_unclear_path_is_refused_without_a_manifest_change():
    step = check_rules(config(), get("/repos/acme/%252e%252e/other"))
    assert step is not None and step.rule == "path" and step.hint is None
    assert "percent-encoded twice" in step.detail


def test_an_unclear_path_is_fine_where_no_rule_names_paths():
    methods_only = replace(config(), rules=(Rule("api.github.com", ("GET",)),))
    step = check_rules(methods_only, get("/repos//x"))
    assert step is not None and step.allowed and "its path" in step.detail


def rule_of(cfg: EgressConfig, request: Request) -> str:
    step = check_rules(cfg, request)
    assert step is not None
    return step.rule


def test_the_most_specific_entry_decides_whose_rules_apply():
    # api.github.com has its own entries (the wildcard's /v1/** is not among them); other GitHub
    # hosts get the wildcard's.
    assert rule_of(config(), get("/v1/x", host="api.github.com")) == "path"
    assert rule_of(config(), get("/v1/x", host="uploads.github.com")) == "rules:*.github.com"
    assert rule_of(config(), get("/v2", host="uploads.github.com")) == "path"
    wide = replace(config(), allowlist=("*.github.com",), rules=(Rule("*.github.com", ("GET",)),))
    assert rule_of(wide, get("/x", "PUT")) == "method"


def test_a_host_without_rules_gets_no_rules_step():
    assert check_rules(config(), get("/anything", "DELETE", host="plain.test")) is None
    request = get("/anything", "DELETE", host="plain.test")
    assert "rules" not in [s.check for s in evaluate(Policy(config()), request, None).steps]


# -- in the pipeline ---------------------------------------------------------------------------


def test_the_rules_step_comes_right_after_the_target():
    decision = evaluate(Policy(config(), (TOKEN,)), get("/repos/acme/x"), None)
    assert [s.check for s in decision.steps] == [
        "allowlist", "port", "destination", "tls", "target", "rules", "url", "headers", "body", "credentials",
    ]  # fmt: skip
    assert decision.allowed and decision.steps[-1].rule == "swapped"


def test_enforce_mode_stops_before_the_credentials_when_a_rule_refuses():
    decision = evaluate(Policy(config(), (TOKEN,)), get("/repos/acme/x", "PUT"), None)
    assert decision.refusal is not None and decision.refusal.rule == "method"
    assert decision.steps[-1].check == "rules"  # nothing after it: no credential step
    assert withholds(decision.steps)


def test_report_mode_lets_a_refused_request_through_without_its_credentials():
    decision = evaluate(Policy(config("report"), (TOKEN,)), get("/repos/other/x"), None)
    assert [s.rule for s in decision.steps if not s.allowed] == ["path"]
    last = decision.steps[-1]
    assert (last.check, last.allowed, last.rule) == ("credentials", True, "withheld")
    assert "GH_TOKEN" in last.detail
    # The same request inside the rules: swapped.
    inside = evaluate(Policy(config("report"), (TOKEN,)), get("/repos/acme/x"), None)
    assert inside.steps[-1].rule == "swapped"


def test_a_host_with_rules_is_never_passed_through_uninspected():
    # The manifest refuses this pairing; the gate intercepts such a host all the same.
    passthrough = config(passthrough=("api.github.com", "plain.test"))
    assert tls_step(Policy(passthrough), "api.github.com", "api.github.com").rule == "intercepted"
    assert tls_step(Policy(passthrough), "plain.test", "plain.test").rule == "passthrough"
