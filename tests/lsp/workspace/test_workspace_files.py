"""Reading workspace files safely: links out, secrets, binaries and huge files refused;
tree listings honour .gitignore and a deadline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aurelis.lsp.workspace.workspace_files import WorkspaceRoots, list_tree, read_text_file


def test_read_text_file_refuses_links_out_env_binary_and_huge(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "x.py").write_text("X = 1\n")
    os.symlink(outside / "x.py", root / "link.py")
    (root / ".env").write_text("A=1\n")
    (root / "bin.py").write_bytes(b"\x00\x01")
    (root / "big.py").write_text("x" * 300_000)
    (root / "ok.py").write_text("OK = 1\n")
    roots = WorkspaceRoots([root])

    assert read_text_file(root / "ok.py", roots) == "OK = 1\n"
    for refused in ("link.py", ".env", "bin.py", "big.py", "missing.py"):
        assert read_text_file(root / refused, roots) is None, refused
    assert read_text_file(outside / "x.py", roots) is None


def test_tree_listing_respects_gitignore_and_the_deadline(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("out/\n*.log\n")
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "src" / "deep" / ".gitignore").write_text("local.py\n")
    (tmp_path / "src" / "deep" / "local.py").write_text("")
    (tmp_path / "src" / "deep" / "kept.py").write_text("")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "gen.py").write_text("")
    (tmp_path / "run.log").write_text("")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text("")

    listing = list_tree(tmp_path, deadline=float("inf"))
    expired = list_tree(tmp_path, deadline=0.0)

    assert listing.complete
    assert set(listing.entries) == {".gitignore", "src/deep/.gitignore", "src/deep/kept.py"}
    assert not expired.complete and expired.entries == ()


@pytest.mark.parametrize("name", [".env", ".env.local", "prod.env"])
def test_env_files_are_never_listed(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("A=1\n")
    assert list_tree(tmp_path, deadline=float("inf")).entries == ()


def test_a_view_within_one_folder_reads_that_folder_alone(tmp_path: Path) -> None:
    outer, other = tmp_path / "outer", tmp_path / "other"
    nested = outer / "vendor"
    for folder in (outer, other, nested):
        folder.mkdir(parents=True)
        (folder / "code.py").write_text("x = 1\n")
    roots = WorkspaceRoots([outer, other, nested])

    view = roots.within(outer.resolve())

    assert view.roots == (outer.resolve(),)
    assert read_text_file(outer / "code.py", view) == "x = 1\n"
    # Another folder, and a folder nested inside this one, are not this folder's to read.
    assert read_text_file(other / "code.py", view) is None
    assert read_text_file(nested / "code.py", view) is None
    assert roots.within(None).roots == () and not roots.within(None).contains(outer / "code.py")
    assert roots.within(outer.resolve()) is view  # kept: its memos serve later requests
