from __future__ import annotations

from bottle_launcher import summary

LOG = [
    b'{"event":"ready","bottle":"b","port":8888}',
    b'{"event":"decision","host":"a.test","decision":"allow","rule":"allowed","hint":null}',
    b'{"event":"decision","host":"x.test","decision":"block","rule":"not-allowlisted","hint":"add \\"x.test\\" to it"}',
    b'{"event":"decision","host":"x.test","decision":"block","rule":"not-allowlisted","hint":"add \\"x.test\\" to it"}',
    b'{"event":"decision","host":"y.test","decision":"would-block","rule":"dlp:jwt","hint":null}',
    b"not json at all",
]


def test_the_summary_lists_each_refused_host_once_with_its_fix():
    text = summary.render(summary.blocked(LOG))
    assert text.splitlines() == [
        "egress refused during this session:",
        '  x.test  [not-allowlisted]  to allow: add "x.test" to it',
        "  y.test  [dlp:jwt]",
    ]
    assert summary.render(summary.blocked(LOG[:2])) == ""
