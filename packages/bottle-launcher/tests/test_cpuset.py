def test_agents_are_pinned_apart_while_there_are_cores_enough():
    from bottle_launcher.plan._resources import choose_cpuset, parse_cpuset

    assert choose_cpuset(1.0, 2, {}) == "1"  # the first keeps core 0 for the engine
    assert choose_cpuset(1.0, 2, {1: 1}) == "0"  # the second goes where no agent is
    assert choose_cpuset(1.0, 2, {0: 1, 1: 1}) == "1"  # then they share, evenly
    assert choose_cpuset(2.0, 8, {7: 1, 6: 1}) == "4,5"
    assert choose_cpuset(1.5, 4, {}) == "2,3"  # a part core needs a whole one more
    assert choose_cpuset(2.0, 2, {}) is None and choose_cpuset(1.0, 1, {}) is None
    assert choose_cpuset(0.0, 4, {}) is None  # no quota: nothing to keep apart
    assert parse_cpuset("0-2,5") == [0, 1, 2, 5] and parse_cpuset("") == []
