"""What gitleaks is shown of each object: nothing 8.16 would skip (magic numbers, the allow
marker, text inside binary data), with lines where they were."""

from __future__ import annotations

from git_gate import _extract

TOKEN = b"ghp_" + b"A1b2C3d4" * 4 + b"E5f6"


def test_the_signature_takes_whole_lines_and_the_allow_marker_loses_its_effect_in_place():
    assert _extract.SIGNATURE.count(b"\n") == _extract.SIGNATURE_LINES and _extract.SIGNATURE.endswith(b"\n")
    text = b"%PDF-1.4\nkey = 1  # gitleaks:allow gitleaks:allowgitleaks:allow\n"
    assert b"gitleaks:allow" not in _extract.neutral(text) and len(_extract.neutral(text)) == len(text)


def test_what_is_read_of_each_kind_of_object():
    assert _extract.text_of("blob", b"a\nb\n", 20) == (b"a\nb\n", True)
    assert _extract.text_of("commit", b"tree x\n\nmsg\n", 20) == (b"tree x\n\nmsg\n", True)
    assert _extract.text_of("blob", b"\0" + b"a" * 8, 20) == (b"a" * 8 + b"\n", False)
    assert _extract.text_of("tree", b"100644 f.txt\0" + b"\1" * 20, 20) == (b"f.txt\n", False)


def test_a_nul_byte_makes_a_blob_binary_wherever_it_is():
    assert _extract.is_binary(b"text" * 5000 + b"\0")
    assert not _extract.is_binary("naïve, not UTF-8: \xe9".encode("latin-1"))


def test_a_token_in_binary_data_is_extracted_on_a_line_of_its_own():
    png_like = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\x01\x02" + TOKEN + b"\0\xff" + b"short\0"
    assert TOKEN in _extract.printable_runs(png_like).split(b"\n")
    assert b"short" not in _extract.printable_runs(png_like)  # under 8 printable bytes: noise


def test_utf16_text_in_binary_data_is_extracted_as_ascii():
    wide = b"\xff\xfe" + b'token = "'.decode().encode("utf-16-le") + TOKEN.decode().encode("utf-16-le") + b"\0\0"
    for offset in (b"", b"\x01"):  # at either byte alignment
        runs = _extract.printable_runs(offset + wide).split(b"\n")
        assert b'token = "' + TOKEN in runs


def test_tree_entries_are_read_as_file_names(repo):
    tip = repo.commit({"dir/" + TOKEN.decode() + ".txt": b"x\n", "b.txt": b"y\n"})
    raw = repo.raw("cat-file", "tree", f"{tip}^{{tree}}")
    assert _extract.tree_names(raw, 20).split(b"\n") == [b"a.txt", b"b.txt", b"dir", b""]
    nested = repo.raw("cat-file", "tree", f"{tip}:dir")
    assert _extract.tree_names(nested, 20) == TOKEN + b".txt\n"


def test_a_message_starts_after_the_headers(repo):
    commit = repo.commit({"f": b"x\n"}, "subject\n\nbody")
    raw = repo.raw("cat-file", "commit", commit)
    lines = raw.split(b"\n")
    assert lines[_extract.message_line(raw) - 1] == b"subject"
