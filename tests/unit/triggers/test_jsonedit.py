"""A JSON settings file edited in place: an insertion laid out like its neighbours, and its
removal giving back the original bytes."""

from __future__ import annotations

import json

import pytest

from memory_vault.errors import ConfigError
from memory_vault.triggers import jsonedit

GROUP = {"hooks": [{"type": "command", "command": "sync # memory-vault"}]}


@pytest.mark.parametrize("text", [
    '{\n  "a": [\n    1\n  ]\n}\n',
    '{\n\t"a": [\n\t\t1,\n\t\t2\n\t]\n}',
    '{"a": [1, 2]}',
    '{\n  "a": []\n}\n',
    '// top\n{\n  "a": [1] /* after */\n}\n',
    '{\r\n  "a": [\r\n    1\r\n  ]\r\n}\r\n',
])
def test_an_item_appended_then_removed_gives_back_the_bytes(text: str) -> None:
    root = jsonedit.parse(text, "f.json")
    array = root.member("a")
    assert array is not None
    added = jsonedit.append(text, array, GROUP)
    again = jsonedit.parse(added, "f.json")
    assert again.value()["a"] == [*root.value()["a"], GROUP]
    grown = again.member("a")
    assert grown is not None
    assert jsonedit.remove(added, grown, len(grown.items) - 1) == text


def test_a_member_is_indented_like_its_neighbours() -> None:
    text = '{\n    "model": "opus"\n}\n'
    added = jsonedit.append(text, jsonedit.parse(text, "f"), {"x": 1}, key="hooks")
    assert added == '{\n    "model": "opus",\n    "hooks": {\n        "x": 1\n    }\n}\n'
    root = jsonedit.parse(added, "f")
    assert jsonedit.remove(added, root, 1) == text
    assert jsonedit.remove(added, root, 0) == '{\n    "hooks": {\n        "x": 1\n    }\n}\n'


def test_strings_with_escapes_and_odd_spacing_keep_their_spelling() -> None:
    text = '{ "k\\u00e9y" :"v\\"w" , "n" : -1.5e3 ,"t":true,"z":null }'
    root = jsonedit.parse(text, "f")
    assert root.value() == json.loads(text)
    assert root.keys == ["k\u00e9y", "n", "t", "z"]


@pytest.mark.parametrize(("text", "where"), [
    ('{"a": 1,}', "line 1, column 9"),
    ('{"a" 1}', "line 1, column 6"),
    ('{"a": [1, 2}', "line 1, column 12"),
    ('{"a": tru}', "line 1, column 7"),
    ('{"a": "x', "line 1, column 7"),
    ("/* open", "line 1, column 1"),
])
def test_a_broken_file_is_named_with_its_line_and_column(text: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        jsonedit.parse(text, "settings.json")
