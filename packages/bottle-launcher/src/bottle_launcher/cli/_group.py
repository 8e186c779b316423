"""`bottle-launch <agent>` as shorthand for `bottle-launch start <agent>`.

Subcommand names win over agent names; `start` reaches an agent whatever its name.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from bottle_manifest import ManifestError

from ..errors import LaunchError


class AgentDefaultGroup(click.Group):
    default_command = "start"

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [self.default_command, *args]
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ManifestError as exc:
            for issue in exc.issues:
                click.echo(str(issue), err=True)
            sys.exit(1)
        except LaunchError as exc:
            click.echo(f"error: {exc}", err=True)
            if exc.hint:
                click.echo(f"hint: {exc.hint}", err=True)
            sys.exit(exc.exit_code)
