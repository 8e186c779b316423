import pytest
from bottle_manifest._jsonc import JsoncError, loads


def test_comments_and_trailing_commas_are_accepted():
    text = """{
      // line comment
      "a": "http://x//y", /* block
      comment */ "b": [1, 2,],
      "c": "/* not a comment */",
    }"""
    data, duplicates = loads(text)
    assert data == {"a": "http://x//y", "b": [1, 2], "c": "/* not a comment */"}
    assert duplicates == []


def test_escaped_quote_in_string_does_not_end_it():
    data, _ = loads(r'{"a": "say \"hi\" // still text",}')
    assert data == {"a": 'say "hi" // still text'}


def test_error_line_numbers_point_into_the_original_text():
    with pytest.raises(JsoncError) as info:
        loads('{\n  // comment\n  /* two\n lines */\n  "a": nope\n}')
    assert info.value.line == 5


def test_unterminated_block_comment():
    with pytest.raises(JsoncError, match="unterminated"):
        loads('{"a": 1} /* open')


def test_duplicate_keys_are_reported():
    _, duplicates = loads('{"a": 1, "a": 2}')
    assert duplicates == ["a"]
