"""A person at a terminal: a real pseudo-terminal (pexpect) whose output is rendered by a terminal
emulator (pyte), so tests read the screen a user would see, not a byte stream."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pexpect
import pyte
from e2e_helpers import launcher_command

ROWS, COLUMNS = 40, 120
RULE = "─" * 20  # claude draws its input box between two rules
PROMPT = "\u276f"  # the sign at the start of claude's input line
CLOSE_TIMEOUT = 90  # seconds for the launcher to remove its bottle after SIGHUP


class Terminal:
    def __init__(
        self,
        args: list[str],
        env: dict[str, str] | None = None,
        rows: int = ROWS,
        columns: int = COLUMNS,
        cwd: str | None = None,
    ):
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.transcript = b""  # every byte, for failure messages and text that scrolled away
        argv, full_env = launcher_command(*args, env={"TERM": "xterm-256color", **(env or {})})
        self.child = pexpect.spawn(argv[0], argv[1:], env=full_env, dimensions=(rows, columns), timeout=5, cwd=cwd)
        self.exited = False

    # -- reading -------------------------------------------------------------------------
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def pump(self, seconds: float) -> None:
        """Read whatever arrives for `seconds` (or until the program exits)."""
        deadline = time.monotonic() + seconds
        while not self.exited and time.monotonic() < deadline:
            self._read(min(0.2, max(0.01, deadline - time.monotonic())))

    def _read(self, timeout: float) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            self.exited = True
            return
        self.transcript += data
        self.stream.feed(data)

    def wait_for(self, ready: Callable[[str], bool], what: str, timeout: float = 60) -> str:
        """Read until `ready(screen text)` holds; the screen at that moment."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            if ready(screen):
                return screen
            if self.exited or time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout:.0f} s for {what}; the screen shows:\n{screen}")
            self._read(0.2)

    def wait_for_text(self, text: str, timeout: float = 60) -> str:
        return self.wait_for(lambda screen: text in screen, repr(text), timeout)

    def wait_for_exit(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while not self.exited:
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout:.0f} s; the screen shows:\n{self.text()}")
            self._read(0.2)
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else 128 + (self.child.signalstatus or 0)

    # -- typing --------------------------------------------------------------------------
    def type(self, text: str) -> None:
        """Type a line the way a person does: the characters, a short pause, then Enter."""
        self.child.send(text)
        self.pump(0.4)
        self.child.send("\r")

    def resize(self, rows: int, columns: int) -> None:
        self.screen.resize(rows, columns)
        self.child.setwinsize(rows, columns)

    def close(self) -> None:
        """Close the terminal as a person's window closing does (SIGHUP), and give the launcher
        time to remove its bottle; pexpect's own close follows SIGHUP within a second with SIGINT
        and SIGKILL, which left the bottle behind when a test failed."""
        if not self.exited and self.child.isalive():
            self.child.kill(signal.SIGHUP)
            deadline = time.monotonic() + CLOSE_TIMEOUT
            while self.child.isalive() and time.monotonic() < deadline:
                self.pump(0.2)
        self.child.close(force=True)


def input_box_ready(screen: str) -> bool:
    """claude's empty input box: a line holding only the prompt sign, between two rules. A
    dialog's option list also uses the sign, but never as an empty line between rules."""
    lines = screen.splitlines()
    return any(
        line.strip() == PROMPT and lines[i - 1].startswith(RULE) and lines[i + 1].startswith(RULE)
        for i, line in enumerate(lines[1:-1], start=1)
    )
