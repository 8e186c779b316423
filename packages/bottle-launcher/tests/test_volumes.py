"""`bottle-launch volumes`: which volumes are persisted ones, and their last use."""

from __future__ import annotations

from bottle_launcher.volumes import describe, forget, record_use


def entry(name: str, **labels: str) -> dict:
    return {"Name": name, "Labels": labels, "UsageData": {"Size": 2048, "RefCount": 0}}


def test_only_persisted_volumes_are_listed_with_use_and_last_use(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    persisted = {
        "dev.claude-bottle.persist": "true",
        "dev.claude-bottle.agent": "dev",
        "dev.claude-bottle.role": "work",
    }
    engine = [
        entry("claude-bottle-dev-1234abcd-work", **persisted, **{"dev.claude-bottle.project": "/p"}),
        entry("bottle-dev-x1-work", **{"dev.claude-bottle.id": "x1", "dev.claude-bottle.role": "work"}),
        entry("someone-elses"),
    ]
    assert [v.name for v in describe(engine, {})] == ["claude-bottle-dev-1234abcd-work"]
    record_use(["claude-bottle-dev-1234abcd-work"])
    (found,) = describe(engine, {"claude-bottle-dev-1234abcd-work": ["b0771e00"]})
    assert (found.agent, found.project, found.role, found.size) == ("dev", "/p", "work", 2048)
    assert found.in_use_by == ("b0771e00",) and found.last_used is not None
    forget(["claude-bottle-dev-1234abcd-work"])
    assert describe(engine, {})[0].last_used is None
