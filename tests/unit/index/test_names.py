"""The name table: which files define a name, and prefix lookups while names come and go."""

from __future__ import annotations

from aurelis.index.names import NameTable


def test_a_name_defined_in_several_files_keeps_them_in_order_until_each_leaves() -> None:
    table = NameTable()
    table.add("a.py", ["parse", "Parser", "parse"])
    table.add("b.py", ["parse"])
    table.add("c.py", ["parse"])

    assert list(table.files_defining("parse")) == ["a.py", "b.py", "c.py"]
    table.remove("b.py", ["parse"])
    assert list(table.files_defining("parse")) == ["a.py", "c.py"]
    table.remove("a.py", ["parse", "Parser"])
    assert list(table.files_defining("parse")) == ["c.py"]
    assert list(table.files_defining("Parser")) == []
    table.remove("c.py", ["parse"])
    assert list(table.files_defining("parse")) == []


def test_prefixes_follow_names_added_and_removed_after_the_first_lookup() -> None:
    table = NameTable()
    table.add("a.py", ["normalize_rows", "normalize"])
    assert table.starting_with("normalize") == ["normalize_rows"]

    table.add("b.py", ["normalize_invoice"])
    table.remove("a.py", ["normalize_rows", "normalize"])

    assert table.starting_with("normalize") == ["normalize_invoice"]
    assert table.starting_with("norm") == ["normalize_invoice"]
