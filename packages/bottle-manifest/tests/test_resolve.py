import bottle_manifest as bm
import pytest
from manifest_helpers import manifest


def spec_of(write, home, env):
    return bm.load(write(manifest(env=env)), home=home).agent("helper")


def test_literal_host_and_prompt_values(write, home):
    spec = spec_of(write, home, {"LIT": "a$$b$c", "HOST": "x-${GH_PAT}-${USER_X}", "ASK": "?paste your token"})
    asked = []

    def prompt(request: bm.PromptRequest) -> str:
        asked.append((request.bottle, request.key, request.text))
        return "typed"

    env = bm.resolve_env(spec, environ={"GH_PAT": "p@t", "USER_X": "u"}, prompt=prompt)
    assert env == {"LIT": "a$b$c", "HOST": "x-p@t-u", "ASK": "typed"}
    assert asked == [("dev", "ASK", "paste your token")]
    assert spec.env_sources() == {"LIT": "literal", "HOST": "host", "ASK": "prompt"}


def test_a_credential_resolves_like_a_plain_value_and_names_its_hosts(write, home):
    credential = {"value": "tok-${GITEA_TOKEN}", "hosts": ["Gitea.Example.com", "*.example.org"]}
    spec = spec_of(write, home, {"GITEA_TOKEN": credential, "PLAIN": "x"})
    assert bm.resolve_env(spec, environ={"GITEA_TOKEN": "abc"}) == {"GITEA_TOKEN": "tok-abc", "PLAIN": "x"}
    assert spec.credential_hosts() == {"GITEA_TOKEN": ["gitea.example.com", "*.example.org"]}
    assert spec.env_sources() == {"GITEA_TOKEN": "host", "PLAIN": "literal"}


def test_empty_prompt_text_falls_back_to_the_key(write, home):
    spec = spec_of(write, home, {"TOKEN": "?"})
    assert bm.resolve_env(spec, environ={}, prompt=lambda r: r.text) == {"TOKEN": "TOKEN"}


def test_missing_host_variables_are_all_reported_before_any_prompt(write, home):
    spec = spec_of(write, home, {"A": "${MISSING_ONE}", "B": "${MISSING_TWO}", "C": "?ask"})

    def prompt(request):
        raise AssertionError("must not prompt when resolution will fail")

    with pytest.raises(bm.ManifestError) as info:
        bm.resolve_env(spec, environ={}, prompt=prompt)
    messages = [issue.message for issue in info.value.issues]
    assert messages == [
        "bottle 'dev' env 'A' needs host variable 'MISSING_ONE', which is not set",
        "bottle 'dev' env 'B' needs host variable 'MISSING_TWO', which is not set",
    ]
    assert info.value.issues[0].path == "bottles.dev.env.A"


def test_prompting_without_a_callback_is_an_error_not_a_hang(write, home):
    spec = spec_of(write, home, {"A": "?ask"})
    with pytest.raises(bm.ManifestError, match="no prompt is available"):
        bm.resolve_env(spec, environ={})


def test_resolution_reads_os_environ_by_default(write, home, monkeypatch):
    monkeypatch.setenv("BOTTLE_TEST_VAR", "from-env")
    assert bm.resolve_env(spec_of(write, home, {"A": "${BOTTLE_TEST_VAR}"})) == {"A": "from-env"}
