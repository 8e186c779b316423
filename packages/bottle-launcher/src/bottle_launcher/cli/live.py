"""`bottle-launch allow` and `deny`: change a running bottle's egress allowlist now, without a
restart or a dropped connection.

The launcher reads the gate's config and its live policy document, computes the next document
(live_change.py), puts it in place in the gate's tmpfs (the runtime backend's
`set_live_policy`: an exec as the gate's UID, a rename, only over the document it read), and
waits for the gate's `policy` event line saying it applied it. `--save` also writes the change
into the manifest file the bottle came from (its label), keeping that file's comments and
layout (bottle_manifest.edit_allowlist); without it, the change lasts as long as the bottle."""

from __future__ import annotations

import getpass
import os
import sys
import time

import bottle_manifest
import click
from bottle_contract import events
from bottle_contract.egress import EgressConfig, LivePolicy

from .. import live_change
from ..egress import backend_for
from ..errors import LaunchError
from ..runtime import BottleInfo, RuntimeBackend, open_backend
from .lifecycle import find_bottles

APPLY_TIMEOUT = 10.0  # seconds to wait for the gate's `policy` line
ATTEMPTS = 5  # writes lost to another launcher's change before giving up


def normalized(hosts: tuple[str, ...]) -> list[str]:
    """The hosts as allowlist entries, normalised and checked as the manifest's are."""
    names = []
    for host in hosts:
        try:
            names.append(bottle_manifest.normalize_allow_host(host))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="HOST") from None
    return names


def one_bottle(backend: RuntimeBackend, target: str) -> BottleInfo:
    matches = find_bottles(backend, target)
    if len(matches) > 1:
        ids = ", ".join(i.bottle_id for i in matches)
        raise LaunchError(f"{target!r} names several bottles: {ids}", hint="give a bottle id")
    return matches[0]


def refuse_engines_without_live_policy(info: BottleInfo, verb: str) -> None:
    if not info.egress_engine:
        raise LaunchError(
            f"bottle {info.bottle_id} was started by an older bottle-launch, whose egress gate cannot take live "
            f"changes: `{verb}` changed nothing",
            hint="change the manifest and start a new bottle",
        )
    if not backend_for(info.egress_engine).live_policy:
        raise LaunchError(
            f"bottle {info.bottle_id} runs the {info.egress_engine} egress engine, which cannot reload its allowlist: "
            f"`{verb}` changed nothing",
            hint=f"change bottles.{info.bottle}.egress.allowlist in the manifest and start a new bottle",
        )


def _documents(backend: RuntimeBackend, bottle_id: str) -> tuple[EgressConfig, LivePolicy]:
    config = EgressConfig.from_json(backend.egress_config(bottle_id))
    raw = backend.live_policy(bottle_id)
    return config, LivePolicy.from_json(raw) if raw else LivePolicy()


def _manifest_edit(info: BottleInfo, verb: str, names: list[str]) -> bottle_manifest.AllowlistEdit:
    if not info.manifest:
        raise LaunchError(f"bottle {info.bottle_id} does not say which manifest it came from: nothing was changed")
    if verb == "allow":
        # The built-in defaults are in every bottle: the manifest need not name them.
        wanted = [h for h in names if h not in bottle_manifest.DEFAULT_EGRESS_ALLOWLIST]
        return bottle_manifest.edit_allowlist(info.manifest, info.bottle, add=wanted)
    return bottle_manifest.edit_allowlist(info.manifest, info.bottle, remove=names)


def _applied(backend: RuntimeBackend, bottle_id: str, serial: int, since: float) -> events.Event | None:
    """The gate's `policy` line for `serial`, once it logged it; None after APPLY_TIMEOUT. The
    log is read from a minute before `since`: the engine's clock may differ from ours."""
    deadline = time.monotonic() + APPLY_TIMEOUT
    while time.monotonic() < deadline:
        for raw in backend.sidecar_log(bottle_id, "egress", since=since - 60):
            event = events.parse(raw)
            if event is not None and event.event == events.POLICY and event.get("serial") == serial:
                return event
        time.sleep(0.1)
    return None


def change(verb: str, target: str, hosts: tuple[str, ...], save: bool) -> int:
    names = normalized(hosts)
    backend = open_backend()
    info = one_bottle(backend, target)
    refuse_engines_without_live_policy(info, verb)
    compute = live_change.allow if verb == "allow" else live_change.deny
    started = time.time()
    edit = None
    for _ in range(ATTEMPTS):
        config, current = _documents(backend, info.bottle_id)
        result = compute(config, current, names, by=getpass.getuser(), pid=os.getpid(), at=events.now())
        if save and edit is None:
            edit = _manifest_edit(info, verb, names)  # refused here, nothing has changed yet
        if not result.changed or backend.set_live_policy(info.bottle_id, result.document.to_json(), current.serial):
            break
    else:
        raise LaunchError("other changes to this bottle kept coming first; nothing was changed", hint="try again")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    code = 0
    if result.changed:
        shown = ", ".join(result.changed)
        event = _applied(backend, info.bottle_id, result.document.serial, started)
        if event is None:
            click.echo(
                f"bottle {info.bottle_id}: the change ({verb} {shown}) is written, but its egress gate did not confirm "
                f"it within {APPLY_TIMEOUT:g} s; it applies it at its next request",
                err=True,
            )
            code = 1
        elif verb == "allow":
            click.echo(f"bottle {info.bottle_id}: allowed {shown}")
        else:
            closed = int(event.get("closed", 0))
            tunnels = f"; closed {closed} open tunnel{'s' if closed != 1 else ''}" if closed else ""
            click.echo(f"bottle {info.bottle_id}: took off {shown}{tunnels}")
    else:
        click.echo(f"bottle {info.bottle_id}: nothing to change")
    if edit is not None:
        edit.write()
        entries = edit.added if verb == "allow" else edit.removed
        if entries:
            what = "added" if verb == "allow" else "removed"
            click.echo(f"{edit.path}: {what} {', '.join(entries)} in bottles.{edit.bottle}.egress.allowlist")
        else:
            click.echo(f"{edit.path}: already as asked; not changed")
    return code


_SAVE = "Also write the change into the manifest file the bottle came from (comments and layout kept)."


@click.command()
@click.argument("target")
@click.argument("hosts", nargs=-1, required=True)
@click.option("--save", is_flag=True, help=_SAVE)
def allow(target: str, hosts: tuple[str, ...], save: bool) -> None:
    """Let HOSTS through a running bottle's egress gate now (TARGET: a bottle id or agent name).

    HOSTS are written as in the manifest's allowlist: `example.com`, `*.example.com`. The gate
    applies the change at once, without a restart; it lasts for that bottle only, unless --save.
    Credentials still go only to their own hosts."""
    sys.exit(change("allow", target, hosts, save))


@click.command()
@click.argument("target")
@click.argument("hosts", nargs=-1, required=True)
@click.option("--save", is_flag=True, help="Also remove HOSTS from the manifest file the bottle came from.")
def deny(target: str, hosts: tuple[str, ...], save: bool) -> None:
    """Take HOSTS off a running bottle's egress allowlist again (TARGET: a bottle id or agent name).

    Only hosts `allow` added can be taken off: a host from the manifest or the built-in defaults
    is refused. New requests to them are refused at once, and open tunnels to them are closed."""
    sys.exit(change("deny", target, hosts, save))
