"""Change one bottle's `egress.allowlist` in the file that declares it (`bottle-launch allow --save`
and `deny --save`), keeping the rest of the file as its author wrote it: comments, trailing
commas, indentation and order. A text edit over the JSONC tree (`_jsonc_tree.py`): plain host
entries are inserted or removed, nothing else is rewritten.

The edit is refused, and the file left alone, when the file has problems before it, when the
bottle is not declared there, when a host to remove has method and path rules (an object a
person should change by hand), and when the edited text would not validate. After the write the
file is read back and validated once more; should that fail, the original is put back."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ._errors import Issue, ManifestError, json_path
from ._fields import normalize_allow_host
from ._jsonc import JsoncError, strip_comments
from ._jsonc_tree import Node, parse_tree
from ._loader import read_file, read_text
from ._models import AllowRule, ManifestFile

Edit = tuple[int, int, str]  # replace text[start:end] with the string


@dataclass(frozen=True)
class AllowlistEdit:
    path: Path
    bottle: str
    added: tuple[str, ...]  # entries the edit adds
    removed: tuple[str, ...]  # entries it removes
    original: str
    text: str  # the file as it will be written

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def write(self) -> None:
        """Replace the file at once (a rename), then read it back; restore it if it does not validate."""
        if not self.changed:
            return
        _replace(self.path, self.text)
        _, _, issues = read_file(self.path)
        if issues:
            _replace(self.path, self.original)
            raise ManifestError([*issues, Issue(str(self.path), "$", "the edit was undone: the file is as it was")])


def edit_allowlist(
    path: str | os.PathLike[str], bottle: str, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> AllowlistEdit:
    """The edit that adds the hosts `add` to (and takes `remove` off) bottle `bottle`'s allowlist
    in the manifest file `path`, checked but not yet written. Hosts are normalised as the
    manifest normalises them; one the file lists already (or does not list, to remove) is left."""
    where = Path(path).resolve()
    file = str(where)
    try:
        original = where.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError([Issue(file, "$", f"cannot read the file: {exc.strerror or exc}")]) from None
    parsed, _, issues = read_text(original, file)
    if issues or parsed is None:
        raise ManifestError([*issues, Issue(file, "$", "fix these first: the file was not changed")])
    if bottle not in parsed.bottles:
        known = ", ".join(sorted(parsed.bottles)) or "none"
        message = f"no bottle {bottle!r} in this file (it declares: {known}); it was not changed"
        raise ManifestError([Issue(file, json_path(("bottles", bottle)), message)])
    plain, ruled = _entries(parsed, bottle)
    adding = tuple(dict.fromkeys(h for h in map(normalize_allow_host, add) if h not in plain and h not in ruled))
    removing = tuple(dict.fromkeys(normalize_allow_host(h) for h in remove))
    for host in removing:
        if host in ruled:
            spot = json_path(("bottles", bottle, "egress", "allowlist", ruled[host]))
            message = f"{host} has method and path rules here; change them by hand: the file was not changed"
            raise ManifestError([Issue(file, spot, message)])
    removing = tuple(h for h in removing if h in plain)
    text = original
    for host in removing:
        while edits := _removal(text, bottle, host):  # every entry that spells it, one at a time
            text = _apply(text, edits)
    if adding:
        text = _apply(text, _insertion(text, bottle, [json.dumps(h) for h in adding]))
    edited, _, issues = read_text(text, file)
    if issues or edited is None:
        raise ManifestError([*issues, Issue(file, "$", "the edit would not validate: the file was not changed")])
    expected = [h for h in plain if h not in removing] + list(adding)
    if list(_entries(edited, bottle)[0]) != expected:  # the edit did something else: never write it
        raise ManifestError([Issue(file, json_path(("bottles", bottle, "egress", "allowlist")),
                                   "the file could not be edited safely; it was not changed")])  # fmt: skip
    return AllowlistEdit(where, bottle, adding, removing, original, text)


def _entries(manifest: ManifestFile, bottle: str) -> tuple[dict[str, int], dict[str, int]]:
    """The bottle's plain entries and its rule entries' hosts, each with its index."""
    plain: dict[str, int] = {}
    ruled: dict[str, int] = {}
    for index, entry in enumerate(manifest.bottles[bottle].egress.allowlist):
        if isinstance(entry, AllowRule):
            ruled.setdefault(entry.host, index)
        else:
            plain.setdefault(entry, index)
    return plain, ruled


def _apply(text: str, edits: list[Edit]) -> str:
    """Make `edits` (each on the original text) from the last position to the first; two at one
    position in the order listed, each going in before the one made already."""
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _bottle(text: str, bottle: str) -> Node:
    root = parse_tree(text)
    bottles = root.get("bottles")
    node = bottles.get(bottle) if bottles is not None else None
    assert node is not None and node.kind == "object"  # validated before
    return node


def _removal(text: str, bottle: str, host: str) -> list[Edit]:
    """Take the first plain entry that spells `host` out (none left: no edit): its whole line when
    it stands alone on one (with the comments on that line, which were about it), else the entry
    and one comma."""
    egress = _bottle(text, bottle).get("egress")
    allowlist = egress.get("allowlist") if egress is not None else None
    spots = [i for i, item in enumerate(allowlist.items if allowlist else ()) if item.kind == "string"
             and _same(str(item.value), host)]  # fmt: skip
    if allowlist is None or not spots:
        return []
    index = spots[0]
    item = allowlist.items[index]
    previous = allowlist.items[index - 1] if index else None
    line_start = text.rfind("\n", 0, item.start) + 1
    after = item.comma + 1 if item.comma is not None else item.end
    line_end = text.find("\n", after)
    line_end = len(text) if line_end < 0 else line_end
    # Comments before it on its line, or after it, are about it: they go with the line.
    if _blank(text[line_start : item.start]) and _blank(text[after:line_end]):
        edits = [(line_start, min(line_end + 1, len(text)), "")]
        if item.comma is None and previous is not None and previous.comma is not None:
            edits.append((previous.comma, previous.comma + 1, ""))  # it was the last: so is the one before
        return edits
    if item.comma is not None:
        end = item.comma + 1
        while end < len(text) and text[end] in " \t":
            end += 1
        return [(item.start, end, "")]
    if previous is not None and previous.comma is not None:
        return [(previous.comma, item.end, "")]
    return [(item.start, item.end, "")]


def _blank(fragment: str) -> bool:
    """Only blanks and whole comments (a comment that goes on past the line is not whole)."""
    try:
        return not strip_comments(fragment).strip()
    except JsoncError:
        return False


def _same(written: str, host: str) -> bool:
    try:
        return normalize_allow_host(written) == host
    except ValueError:
        return False


def _insertion(text: str, bottle: str, values: list[str]) -> list[Edit]:
    """Append `values` (JSON strings) to the allowlist, creating `allowlist` (or `egress`) as the
    last member of its object when the bottle has none."""
    node = _bottle(text, bottle)
    egress = node.get("egress")
    array = f"[{', '.join(values)}]"
    if egress is None:
        return _append(text, node, [f'"egress": {{"allowlist": {array}}}'])
    allowlist = egress.get("allowlist")
    if allowlist is None:
        return _append(text, egress, [f'"allowlist": {array}'])
    return _append(text, allowlist, values)


def _append(text: str, node: Node, pieces: list[str]) -> list[Edit]:
    """Add `pieces` (array items, or `"key": value` members) after a container's last child, in
    the container's own style: on one line or one a line, indented as its children are, with a
    trailing comma if its last child has one."""
    children = node.items or [value for _, value in node.members]
    multiline = "\n" in text[node.start : node.close]
    anchor = len(text[: node.close].rstrip())  # after the last child, its comma or a comment
    if not children:
        if not multiline:
            return [(node.start + 1, node.close, ", ".join(pieces))]
        indent = _indent(text, node.close) + _unit(text)
        return [(anchor, anchor, "".join(f"\n{indent}{piece}," for piece in pieces)[:-1])]
    last = children[-1]
    trailing = last.comma is not None
    if not multiline:
        if trailing:
            return [(last.comma + 1, last.comma + 1, " " + ", ".join(pieces) + ",")]  # type: ignore[operator]
        return [(last.end, last.end, ", " + ", ".join(pieces))]
    indent = _indent(text, last.start)
    block = "".join(f"\n{indent}{piece}," for piece in pieces)
    if trailing:
        return [(anchor, anchor, block)]
    # The comma goes right after the value, before any comment that follows it on its line.
    return [(anchor, anchor, block[:-1]), (last.end, last.end, ",")]


def _indent(text: str, position: int) -> str:
    """The blanks that start the line `position` is on."""
    line = text[text.rfind("\n", 0, position) + 1 : position]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _unit(text: str) -> str:
    """One level of the file's indentation: a tab, or its narrowest run of spaces (else two)."""
    widths = []
    for line in text.splitlines():
        blank = line[: len(line) - len(line.lstrip(" \t"))]
        if blank.startswith("\t"):
            return "\t"
        if blank and line.strip():
            widths.append(len(blank))
    return " " * min(widths, default=2)


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` through a rename, keeping the file's permission bits."""
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    mode = stat.S_IMODE(path.stat().st_mode)
    try:
        part.write_text(text, encoding="utf-8")
        os.chmod(part, mode)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
