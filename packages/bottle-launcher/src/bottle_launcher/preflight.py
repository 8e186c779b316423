"""What the user sees and agrees to before anything starts. Names and sources, never values."""

from __future__ import annotations

from bottle_manifest import format_size
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .plan import EngineLimits, Plan, bottle_limits, limits_text, start_folder


def render(
    plan: Plan,
    *,
    image: str,
    runtime: str,
    command: tuple[str, ...],
    console: Console,
    engine: EngineLimits | None = None,
    notice: str | None = None,
    where: str | None = None,
) -> None:
    """The plan as the user confirms it; `notice` is what the egress engine must say, `where` which
    Docker engine it starts on (so nobody starts a bottle on the wrong machine by accident)."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")  # a long path wraps whole rather than ending in "…"
    table.add_row("agent", plan.agent)
    table.add_row("bottle", plan.bottle)
    table.add_row("manifest", "\n".join(plan.sources))
    table.add_row("image", image)
    if where:
        table.add_row("engine", escape(where))  # an IPv6 address's brackets are not markup
    table.add_row("runtime", runtime)
    table.add_row("command", " ".join(command))
    table.add_row("workdir", start_folder(plan))
    if plan.workspace is not None:
        ws = plan.workspace
        notes = [f"branch {ws.head.removeprefix('refs/heads/')}"]
        if ws.with_changes:
            notes.append("uncommitted changes as a commit on top")
        if ws.submodules:
            notes.append("[yellow]submodules not included[/yellow]")
        table.add_row("workspace", f"{ws.path}  [dim]({'; '.join(notes)})[/dim]")
        table.add_row("", f"[dim]pushes come back as refs/remotes/bottle/{plan.agent}/*[/dim]")
    for checkout in plan.checkouts:
        if plan.workspace is None or checkout.repo != plan.workspace.repo:
            table.add_row("checkout", f"{checkout.repo} -> ~/work/{checkout.folder}")
    if plan.persist:
        table.add_row("persist", "claude's sessions and the working folder are kept for the next bottle")
    if plan.claude_permission_mode:
        mode = plan.claude_permission_mode
        note = "  [dim](tools run without asking)[/dim]" if mode == "bypassPermissions" else ""
        table.add_row("claude mode", f"{mode}{note}")
    if plan.claude_model:
        table.add_row("claude model", plan.claude_model)
    for env in plan.env:
        sealed = f"  placeholder; real value only to {', '.join(env.credential_hosts)}" if env.credential_hosts else ""
        table.add_row("env", f"{env.name}  [dim]({env.source}){sealed}[/dim]")
    for skill in plan.skills:
        table.add_row("skill", skill)
    for ssh in plan.ssh:
        table.add_row("ssh", f"{ssh.host} -> {ssh.hostname}:{ssh.port}")
    for git in plan.git:
        for repo in git.repos:
            table.add_row("git", f"{repo} -> {git.hostname}:{git.port}")
    table.add_row("egress", "\n".join(_allowed(plan, host) for host in plan.egress_allowlist))
    for cidr in plan.egress_allow_cidrs:
        table.add_row("allow_cidrs", cidr)
    for host in plan.egress_passthrough:
        table.add_row("passthrough", host)
    for host, ports in plan.egress_ports:
        table.add_row("ports", f"{host}: {', '.join(str(p) for p in ports)}")
    _limits(table, plan, engine or EngineLimits())
    console.print(table)
    if notice:
        console.print(notice)
    if plan.egress_mode == "report":
        # Loud on purpose: in report mode the bottle's egress is open.
        console.print(
            "[bold red]EGRESS REPORT MODE: nothing is blocked.[/bold red] Every request that the"
            " policy would refuse is let through and logged. Use it only to build an allowlist."
        )


def _allowed(plan: Plan, host: str) -> str:
    """An allowlist host, with its method-and-path rules when it has some (alternatives)."""
    rules = [rule.text for rule in plan.egress_rules if rule.host == host]
    return f"{host}  [dim](only {' or '.join(rules)})[/dim]" if rules else host


def _limits(table: Table, plan: Plan, engine: EngineLimits) -> None:
    """What each container may use, as the engine will apply it; what it cannot limit, in yellow."""
    limits = bottle_limits(plan, engine)
    agent = limits.pop("agent")
    table.add_row("limits", limits_text(agent))
    if agent.disk is not None:
        table.add_row("disk", f"{format_size(agent.disk)}  [dim]({engine.disk_note})[/dim]")
    else:
        table.add_row("disk", f"[yellow]unlimited[/yellow]: the writable layer is not capped; {engine.disk_note}")
    unenforced = engine.unenforced()
    if unenforced:
        table.add_row("", f"[yellow]not enforced by this engine: {', '.join(unenforced)}[/yellow]")
    table.add_row("gate limits", "\n".join(f"{role}: {limits_text(gate)}" for role, gate in limits.items()))
