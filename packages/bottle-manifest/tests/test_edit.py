"""`edit_allowlist`: a bottle's allowlist changed in the file a person wrote (`bottle-launch allow
--save`), with the rest of the file kept as it was, and every edit that would leave the file
invalid refused with the file untouched."""

from __future__ import annotations

import json

import bottle_manifest
import pytest
from bottle_manifest import ManifestError, edit_allowlist
from bottle_manifest import _edit as edit_module

COMMENTED = """{
  // the bottles I use
  "bottles": {
    "dev": {
      "egress": {
        "allowlist": [
          "pypi.org",   // python packages
          /* code */ "github.com",
        ],
      },
    },
  },
  "agents": {"helper": {"bottle": "dev",},},
}
"""


def _hosts(path, bottle: str = "dev") -> list[str]:
    return bottle_manifest.load(path).bottles[bottle].bottle.egress.hosts


def test_an_entry_is_added_with_comments_trailing_commas_and_indentation_kept(tmp_path):
    path = tmp_path / "claude-bottle.json"
    path.write_text(COMMENTED)
    edit = edit_allowlist(path, "dev", add=["Example.COM.", "*.example.org"])
    assert edit.added == ("example.com", "*.example.org") and edit.removed == ()
    edit.write()
    assert path.read_text() == COMMENTED.replace(
        '          /* code */ "github.com",\n',
        '          /* code */ "github.com",\n          "example.com",\n          "*.example.org",\n',
    )
    assert _hosts(path) == ["pypi.org", "github.com", "example.com", "*.example.org"]


def test_an_entry_is_removed_with_its_line_and_its_comment(tmp_path):
    path = tmp_path / "claude-bottle.json"
    path.write_text(COMMENTED)
    edit_allowlist(path, "dev", remove=["pypi.org"]).write()
    text = path.read_text()
    assert "pypi.org" not in text and "python packages" not in text and "// the bottles I use" in text
    assert _hosts(path) == ["github.com"]
    edit_allowlist(path, "dev", remove=["github.com"]).write()
    assert _hosts(path) == [] and "/* code */" not in path.read_text()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('["a.test"]', '["a.test", "new.test"]'),
        ('["a.test",]', '["a.test", "new.test",]'),
        ("[]", '["new.test"]'),
        ('[\n\t\t\t"a.test"\n\t\t]', '[\n\t\t\t"a.test",\n\t\t\t"new.test"\n\t\t]'),
    ],
)
def test_an_entry_is_added_in_the_arrays_own_style(tmp_path, before, after):
    path = tmp_path / "claude-bottle.json"
    document = '{"bottles": {"b": {"egress": {"allowlist": LIST}}}}'
    path.write_text(document.replace("LIST", before))
    edit_allowlist(path, "b", add=["new.test"]).write()
    assert path.read_text() == document.replace("LIST", after)


def test_a_bottle_without_an_allowlist_or_egress_gets_one(tmp_path):
    path = tmp_path / "claude-bottle.json"
    path.write_text(json.dumps({"bottles": {"bare": {}, "half": {"egress": {"mode": "report"}}}}, indent=2))
    edit_allowlist(path, "bare", add=["new.test"]).write()
    edit_allowlist(path, "half", add=["new.test"]).write()
    manifest = bottle_manifest.load(path)
    assert manifest.bottles["bare"].bottle.egress.hosts == ["new.test"]
    assert manifest.bottles["half"].bottle.egress.hosts == ["new.test"]
    assert manifest.bottles["half"].bottle.egress.mode == "report"


def test_an_inline_entry_is_removed_with_one_comma(tmp_path):
    path = tmp_path / "claude-bottle.json"
    path.write_text('{"bottles": {"b": {"egress": {"allowlist": ["a.test", "b.test", "a.test", "c.test"]}}}}')
    edit_allowlist(path, "b", remove=["a.test", "c.test"]).write()  # every entry that spells it
    assert path.read_text() == '{"bottles": {"b": {"egress": {"allowlist": ["b.test"]}}}}'


def test_an_entry_in_the_home_file_is_saved_there_and_the_next_load_has_it(tmp_path, home):
    (home / "claude-bottle.json").write_text(COMMENTED)
    project = tmp_path / "project"
    project.mkdir()
    (project / "claude-bottle.json").write_text('{"agents": {"mine": {"bottle": "dev"}}}  // uses home\'s bottle\n')
    spec = bottle_manifest.load(cwd=project, home=home).agent("mine")
    assert spec.bottle_source == home / "claude-bottle.json"
    edit_allowlist(spec.bottle_source, spec.bottle_name, add=["new.test"]).write()
    again = bottle_manifest.load(cwd=project, home=home).agent("mine")
    assert "new.test" in again.egress_allowlist
    assert "// the bottles I use" in (home / "claude-bottle.json").read_text()
    assert (project / "claude-bottle.json").read_text().endswith("// uses home's bottle\n")


def test_hosts_already_there_or_absent_leave_the_file_alone(tmp_path):
    path = tmp_path / "claude-bottle.json"
    path.write_text(COMMENTED)
    edit = edit_allowlist(path, "dev", add=["PyPI.org"], remove=["nowhere.test"])
    assert not edit.changed and edit.added == () and edit.removed == ()
    edit.write()
    assert path.read_text() == COMMENTED


def test_a_host_with_rules_is_not_removed_by_hand_here(tmp_path):
    path = tmp_path / "claude-bottle.json"
    rule = {"host": "api.test", "methods": ["GET"]}
    path.write_text(json.dumps({"bottles": {"b": {"egress": {"allowlist": [rule]}}}}))
    with pytest.raises(ManifestError, match=r"api\.test has method and path rules here"):
        edit_allowlist(path, "b", remove=["api.test"])
    assert not edit_allowlist(path, "b", add=["api.test"]).changed  # its rules already decide it


def test_a_file_with_problems_or_without_the_bottle_is_not_edited(tmp_path):
    path = tmp_path / "claude-bottle.json"
    broken = '{"bottles": {"b": {"egress": {"allowlist": ["https://x.test"]}}}}'
    path.write_text(broken)
    with pytest.raises(ManifestError, match="fix these first"):
        edit_allowlist(path, "b", add=["new.test"])
    path.write_text('{"bottles": {"b": {}}}')
    with pytest.raises(ManifestError, match="no bottle 'gone' in this file"):
        edit_allowlist(path, "gone", add=["new.test"])
    with pytest.raises(ValueError, match="has a scheme"):
        edit_allowlist(path, "b", add=["https://new.test"])


def test_an_edit_that_would_not_validate_is_refused_and_nothing_written(tmp_path, monkeypatch):
    path = tmp_path / "claude-bottle.json"
    path.write_text(COMMENTED)
    real = edit_module._insertion
    monkeypatch.setattr(edit_module, "_insertion", lambda text, bottle, values: real(text, bottle, ['"10.0.0.1"']))
    with pytest.raises(ManifestError, match="is an IP address") as refused:
        edit_allowlist(path, "dev", add=["new.test"])
    assert "the edit would not validate: the file was not changed" in str(refused.value)
    assert path.read_text() == COMMENTED


def test_a_written_file_that_does_not_read_back_is_restored(tmp_path, monkeypatch):
    path = tmp_path / "claude-bottle.json"
    path.write_text(COMMENTED)
    edit = edit_allowlist(path, "dev", add=["new.test"])
    issue = bottle_manifest.Issue(str(path), "$", "changed under us")
    monkeypatch.setattr(edit_module, "read_file", lambda where: (None, None, [issue]))
    with pytest.raises(ManifestError, match="the edit was undone"):
        edit.write()
    assert path.read_text() == COMMENTED
    assert [p.name for p in tmp_path.iterdir()] == ["claude-bottle.json"]  # no temporary file left
