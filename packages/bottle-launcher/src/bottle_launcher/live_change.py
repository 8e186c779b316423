"""What `bottle-launch allow` and `deny` change in a running bottle: its next live policy document
(bottle_contract.egress.LivePolicy), from the one in place, the config its gate started with and
the hosts named. Pure: the command (cli/live.py) reads and writes the documents, and the gate
applies them (egress_gate.live_policy).

- `allow` adds an entry unless one already lets every name it names through: a name an entry
  decides keeps that entry's method and path rules, so an allow never voids a rule. An allow of
  an entry taken off with `deny` puts it back.
- `deny` takes off only what an `allow` added: an entry of the config (the manifest's, or a
  built-in default) is refused, as the manifest is the place to change those. Entries the denied
  one covers go with it; when a wider entry an `allow` added still covers it, the denied entry is
  kept in `deny`, which the gate checks first, so it stays refused.

Neither touches credentials: they go to their own hosts only, whatever the allowlist says."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bottle_contract.egress import EgressConfig, LivePolicy
from bottle_manifest import DEFAULT_EGRESS_ALLOWLIST

from .errors import LaunchError


@dataclass(frozen=True)
class Change:
    document: LivePolicy  # what to write (its serial one past the current one's), if `changed`
    changed: tuple[str, ...] = ()  # the entries this change lets through, or takes off
    notes: tuple[str, ...] = ()  # the hosts it leaves as they were, and why


def covers(wide: str, narrow: str) -> bool:
    """Every name `narrow` (a name or `*.domain`) matches, `wide` matches too, as the gate matches."""
    if wide == narrow:
        return True
    if not wide.startswith("*."):
        return False
    return narrow.removeprefix("*.").endswith(wide[1:])


def overlaps(a: str, b: str) -> bool:
    """Some name matches both (for names and `*.domain`s, one then covers the other)."""
    return covers(a, b) or covers(b, a)


def _where(entry: str, config: EgressConfig) -> str:
    if entry in DEFAULT_EGRESS_ALLOWLIST:
        return "the built-in defaults"
    if entry in config.allowlist:
        return f"bottles.{config.bottle}.egress.allowlist"
    return "an earlier `bottle-launch allow`"


def _next(current: LivePolicy, allow: set[str], deny: set[str], by: str, pid: int, at: str) -> LivePolicy:
    # A denied entry is kept only while an allowed one still covers it: with the wider entry gone,
    # there is nothing left to carve it out of.
    carved = {d for d in deny if any(covers(a, d) for a in allow)}
    return LivePolicy(tuple(sorted(allow)), tuple(sorted(carved)), current.serial + 1, by, pid, at)


def allow(config: EgressConfig, current: LivePolicy, hosts: Iterable[str], *, by: str, pid: int, at: str) -> Change:
    """Let `hosts` (normalised entries) through the bottle whose gate started with `config`."""
    allowed, denied = set(current.allow), set(current.deny)
    changed: list[str] = []
    notes: list[str] = []
    for host in dict.fromkeys(hosts):
        wider = sorted(d for d in denied if d != host and covers(d, host))
        if wider:
            raise LaunchError(
                f"{host} is under {wider[0]}, which was taken off with `bottle-launch deny`",
                hint=f"allow {wider[0]} to put it back whole",
            )
        if host in denied:
            denied.discard(host)  # put back: a wider entry an allow added covers it again
            if not any(covers(entry, host) for entry in allowed | set(config.allowlist)):
                allowed.add(host)
            changed.append(host)
            continue
        entries = (set(config.allowlist) | allowed) - denied
        by_entry = next((e for e in sorted(entries, key=len, reverse=True) if covers(e, host)), None)
        if by_entry is not None:
            notes.append(f"{host} is already allowed (by {by_entry!r}, from {_where(by_entry, config)})")
            continue
        allowed.add(host)
        changed.append(host)
        inside = sorted(d for d in denied if covers(host, d))
        if inside:
            notes.append(f"{', '.join(inside)} stay taken off (bottle-launch deny) under {host}")
    if not changed:
        return Change(current, (), tuple(notes))
    return Change(_next(current, allowed, denied, by, pid, at), tuple(changed), tuple(notes))


def deny(config: EgressConfig, current: LivePolicy, hosts: Iterable[str], *, by: str, pid: int, at: str) -> Change:
    """Take `hosts` (normalised entries) off again. LaunchError, and nothing changed, if one of
    them is (or overlaps) an entry the bottle started with."""
    hosts = list(dict.fromkeys(hosts))
    for host in hosts:
        started = sorted(e for e in config.allowlist if overlaps(e, host))
        if started:
            entry = started[0]
            where = _where(entry, config)
            raise LaunchError(
                f"{host} is allowed by {entry!r} in {where}, which `deny` does not change: it takes off only what "
                "`bottle-launch allow` added; nothing was changed",
                hint="to take it off for good, remove it from the manifest and start a new bottle"
                if where != "the built-in defaults"
                else "the built-in defaults are what Claude Code itself needs",
            )
    allowed, denied = set(current.allow), set(current.deny)
    changed: list[str] = []
    notes: list[str] = []
    for host in hosts:
        if host in denied:
            notes.append(f"{host} was taken off already")
            continue
        if not any(overlaps(entry, host) for entry in allowed):
            notes.append(f"{host} is not allowed: nothing to take off")
            continue
        allowed -= {entry for entry in allowed if covers(host, entry)}
        if any(covers(entry, host) for entry in allowed):
            denied.add(host)  # a wider entry still covers it: the gate refuses it first
        changed.append(host)
    if not changed:
        return Change(current, (), tuple(notes))
    return Change(_next(current, allowed, denied, by, pid, at), tuple(changed), tuple(notes))
