import bottle_manifest as bm
import pytest
from manifest_helpers import manifest


def test_nearest_ancestor_project_file_is_found(write, tmp_path, home):
    path = write(manifest())
    deep = tmp_path / "project" / "a" / "b"
    deep.mkdir(parents=True)
    loaded = bm.load(cwd=deep, home=home)
    assert loaded.sources == (path,)
    assert loaded.agents["helper"].source == path


def test_home_and_project_merge_with_project_winning_whole(write, tmp_path, home):
    home_file = write(
        {
            "bottles": {"shared": {"env": {"A": "1", "B": "2"}}, "dev": {"env": {"HOME_ONLY": "x"}}},
            "agents": {"from-home": {"bottle": "shared"}, "helper": {"bottle": "shared", "skills": ["s"]}},
        },
        "home/claude-bottle.json",
    )
    project = write({"bottles": {"dev": {"env": {"P": "1"}}}, "agents": {"helper": {"bottle": "dev"}}})
    loaded = bm.load(cwd=project.parent, home=home)
    assert loaded.sources == (home_file, project)
    # a project entry replaces the home entry whole: no key of the home "dev" survives
    assert dict(loaded.bottles["dev"].bottle.env) == {"P": "1"}
    assert loaded.bottles["dev"].source == project
    assert loaded.bottles["shared"].source == home_file
    helper = loaded.agent("helper")
    assert helper.agent.skills == []
    assert helper.agent_source == project
    # an agent from home may use a bottle from home
    assert loaded.agent("from-home").bottle_source == home_file


def test_agent_in_project_may_use_bottle_from_home(write, home):
    home_file = write({"bottles": {"shared": {}}}, "home/claude-bottle.json")
    project = write({"agents": {"a": {"bottle": "shared"}}})
    spec = bm.load(cwd=project.parent, home=home).agent("a")
    assert spec.bottle_source == home_file
    assert spec.sources == [home_file, project]


def test_manifest_option_replaces_the_project_file(write, tmp_path, home):
    write(manifest())
    other = write({"bottles": {"x": {}}, "agents": {"other": {"bottle": "x"}}}, "elsewhere/m.json")
    loaded = bm.load(other, cwd=tmp_path / "project", home=home)
    assert set(loaded.agents) == {"other"}


def test_missing_explicit_manifest_is_an_error(tmp_path, home):
    with pytest.raises(bm.ManifestError) as info:
        bm.load(tmp_path / "nope.json", home=home)
    assert str(info.value) == f"{tmp_path / 'nope.json'}: $: file not found"


def test_no_manifest_anywhere_names_every_place_searched(tmp_path, home):
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True)
    with pytest.raises(bm.ManifestNotFoundError) as info:
        bm.load(cwd=cwd, home=home)
    message = str(info.value)
    assert str(cwd / "claude-bottle.json") in message
    assert str(tmp_path / "a" / "claude-bottle.json") in message
    assert str(home / "claude-bottle.json") in message
    assert "no manifest found" in message


def test_home_file_alone_is_enough(write, tmp_path, home):
    write(manifest(), "home/claude-bottle.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert set(bm.load(cwd=elsewhere, home=home).agents) == {"helper"}


def test_working_inside_home_reads_the_home_file_once(write, home):
    path = write(manifest(), "home/claude-bottle.json")
    assert bm.load(cwd=home, home=home).sources == (path,)


def test_unknown_agent_lists_the_agents(write, home):
    path = write(manifest())
    with pytest.raises(bm.ManifestError) as info:
        bm.load(path, home=home).agent("nope")
    assert "agents.nope: no such agent; agents: helper" in str(info.value)
