from __future__ import annotations

import json
from pathlib import Path

import click
from bottle_manifest import format_size

from ..plan import build_plan, describe, limits_text
from ._options import load_manifest, manifest_option


@click.command()
@click.argument("agent")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@manifest_option
def plan(agent: str, as_json: bool, manifest_path: Path | None) -> None:
    """Show what launching AGENT would do, without prompting or starting anything."""
    spec = load_manifest(manifest_path).agent(agent)
    built = build_plan(spec)
    data = describe(built)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"agent    {data['agent']}  (bottle {data['bottle']})")
    click.echo(f"sources  {', '.join(data['sources'])}")
    for env in data["env"]:
        hosts = env.get("credential_hosts")
        sealed = f"  placeholder; real value only to {', '.join(hosts)}" if hosts else ""
        click.echo(f"env      {env['name']}  <{env['source']}>{sealed}")
    for skill in data["skills"]:
        click.echo(f"skill    {skill}")
    for ssh in data["ssh"]:
        click.echo(f"ssh      {ssh['host']} -> {ssh['hostname']}:{ssh['port']}")
    for git in data["git"]:
        for repo in git["repos"]:
            click.echo(f"git      {repo} -> {git['hostname']}:{git['port']}")
    click.echo(f"egress   {', '.join(data['egress']['allowlist'])}")
    ruled: dict[str, list[str]] = {}
    for rule in built.egress_rules:  # a host's entries are alternatives: one line for each host
        ruled.setdefault(rule.host, []).append(rule.text)
    for host, rules in ruled.items():
        click.echo(f"         {host} only: {' or '.join(rules)}")
    if data["egress"]["backend"] != "mitmproxy" or data["egress"]["mode"] != "enforce":
        click.echo(f"         backend {data['egress']['backend']}, mode {data['egress']['mode']}")
    agent = built.resources
    disk = f", disk {format_size(agent.disk)} where the engine can cap it" if agent.disk else ""
    click.echo(f"limits   {limits_text(agent)}{disk}")
