"""`bottle-launch <agent>` as shorthand for `bottle-launch start <agent>`, and subcommands
imported only when they run.

Subcommand names win over agent names; `start` reaches an agent whatever its name.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

import click
from bottle_manifest import ManifestError

from ..errors import LaunchError

# Measured against a stock sshd: a bottle's start holds more streams at once than its 10.
SSH_HINT = (
    "over ssh:// each stream to the engine is a session of one ssh connection, and sshd allows 10 at once "
    "(MaxSessions); set `MaxSessions 64` in the engine host's sshd_config, or reach the engine over tcp:// with TLS"
)


class AgentDefaultGroup(click.Group):
    """`lazy` names each subcommand's "module:attribute" within this package. A command's module,
    and what it imports, loads when the command runs (or for --help): a start then skips the image
    builder's, doctor's and the egress checker's imports."""

    default_command = "start"

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.lazy:
            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(f".{module}", __package__), attribute), name)
        return super().get_command(ctx, name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.list_commands(ctx) and not args[0].startswith("-"):
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
        except Exception as exc:
            # An ssh:// engine: docker-py's ssh transport (paramiko) raises its own errors from any
            # call. Not imported here: most commands never load paramiko.
            if not type(exc).__module__.startswith("paramiko"):
                raise
            click.echo(f"error: the ssh connection to the Docker engine failed: {exc!r}", err=True)
            click.echo(f"hint: {SSH_HINT}", err=True)
            sys.exit(1)
