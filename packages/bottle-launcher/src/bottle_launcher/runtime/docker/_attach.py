"""Attach the user's terminal to the agent's TTY through the engine's attach stream.

We pump bytes ourselves instead of running `docker attach`: the attach is open before the
agent's command is released, so no early output is lost (a short command under gVisor finished
before `docker attach` connected), and SIGTERM/SIGHUP reach the launcher, not a child CLI.
In raw mode Ctrl-C is an ordinary byte, so it reaches claude as it would on a local terminal.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import termios
import tty
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import docker.errors
from docker import APIClient

from ._handover import raw_socket


@contextlib.contextmanager
def _raw_mode(fd: int) -> Iterator[None]:
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        # TCSANOW: the default (TCSAFLUSH) would drop what the user typed ahead.
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _resize(resize: Callable[[int, int], None], fd: int) -> None:
    # A failed resize (no terminal, or the container just exited) must never end the session.
    with contextlib.suppress(OSError, docker.errors.APIError):
        size = os.get_terminal_size(fd)
        resize(size.lines, size.columns)


@contextlib.contextmanager
def _on_winch(handler: Callable[[], None]) -> Iterator[None]:
    def on_signal(signum: int, frame: FrameType | None) -> None:
        handler()

    previous = signal.signal(signal.SIGWINCH, on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _terminal_session(
    sock: socket.socket,
    resize: Callable[[int, int], None],
    release: Callable[[], None] = lambda: None,
    stdin: int = 0,
    stdout: int = 1,
) -> None:
    """The user's terminal in raw mode, sized like the remote one (and again on each SIGWINCH),
    copied to `sock` and back until the remote side closes."""
    resize_fd = stdout if os.isatty(stdout) else stdin
    try:
        with _raw_mode(stdin), _on_winch(lambda: _resize(resize, resize_fd)):
            _resize(resize, resize_fd)
            release()
            _pump(sock, stdin, stdout)
    finally:
        sock.close()


def attach_tty(api: APIClient, container: str, release: Callable[[], None], stdin: int = 0, stdout: int = 1) -> None:
    """Open the attach stream, call `release` (which lets the agent's command start), then copy
    the terminal to the container and back until the container's side closes."""
    params: dict[str, Any] = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
    sock: socket.socket = raw_socket(api.attach_socket(container, params=params))

    def resize(height: int, width: int) -> None:
        api.resize(container, height=height, width=width)

    _terminal_session(sock, resize, release, stdin, stdout)


def exec_tty(api: APIClient, exec_id: str, stdin: int = 0, stdout: int = 1) -> None:
    """Run a created exec (tty and stdin on) with the user's terminal attached to it."""
    sock: socket.socket = raw_socket(api.exec_start(exec_id, tty=True, socket=True))

    def resize(height: int, width: int) -> None:
        api.exec_resize(exec_id, height=height, width=width)

    _terminal_session(sock, resize, stdin=stdin, stdout=stdout)


def _pump(sock: socket.socket, stdin: int, stdout: int) -> None:
    watching = [sock, stdin]
    while True:
        try:
            readable, _, _ = select.select(watching, [], [])
        except InterruptedError:  # SIGWINCH
            continue
        if sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            _write_all(stdout, data)
        if stdin in readable:
            data = os.read(stdin, 65536)
            if data:
                sock.sendall(data)
            else:
                # Piped input ended. Closing our side would end the attach stream before the
                # agent's output arrives; a TTY's end-of-file is Ctrl-D, so send that instead.
                watching.remove(stdin)
                sock.sendall(b"\x04")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
