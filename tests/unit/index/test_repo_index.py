"""The repository index on real files: what it reads, what it skips, what it finds, what
it keeps on disk."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from aurelis.index.chunks import CHUNK_LINES, chunk_source
from aurelis.index.files import IndexFilter
from aurelis.index.repo_index import RepoIndex
from aurelis.index.store import index_path, load_index
from aurelis.index.throttle import Throttle

SECRET = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _built(root: Path, storage: Path | None = None, keep: IndexFilter | None = None) -> RepoIndex:
    index = RepoIndex(root.resolve(), storage, keep)
    assert index.build(throttle=Throttle(duty=1))
    return index


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    _write(
        root,
        {
            "billing/rows.py": "def normalize_invoice_rows(rows, currency):\n    return rows\n",
            "web/pad.ts": "export function padInvoiceNumber(n: number): string {}\n",
            "svc/main.go": "package svc\n\nfunc ParseLedger() {}\n",
            ".gitignore": "generated/\n",
            "generated/big.py": "def generated_helper():\n    pass\n",
            ".env": f"TOKEN={SECRET}\n",
            "blob.py": b"def x():\0\n",
            "huge.py": "def huge_one():\n    pass\n" + "# filler\n" * 40_000,
        },
    )
    return root


def test_definitions_are_found_by_exact_name_and_by_the_prefix_being_typed(repo: Path) -> None:
    index = _built(repo)

    by_prefix = index.definitions([], prefix="normalize_inv")
    by_name = index.definitions(["padInvoiceNumber", "ParseLedger"])

    assert [(s.path, s.start) for s in by_prefix] == [("billing/rows.py", 0)]
    assert by_prefix[0].text.startswith("def normalize_invoice_rows(rows, currency):")
    assert {s.path for s in by_name} == {"web/pad.ts", "svc/main.go"}


def test_ignored_secret_binary_and_huge_files_are_never_indexed(repo: Path) -> None:
    index = _built(repo)

    assert index.stats().files == 4  # rows.py, pad.ts, main.go, .gitignore
    assert index.definitions(["generated_helper", "huge_one", "x"]) == []
    hits = index.search("TOKEN generated_helper huge_one filler", 10)
    assert {hit.path for hit in hits} <= {
        "billing/rows.py",
        "web/pad.ts",
        "svc/main.go",
        ".gitignore",
    }


def test_user_exclusions_are_honoured(repo: Path) -> None:
    index = _built(repo, keep=IndexFilter(["web/**"]))

    assert index.definitions(["padInvoiceNumber"]) == []
    index.update("web/pad.ts", "function padInvoiceNumber() {}\n")  # a save of an excluded file
    assert index.definitions(["padInvoiceNumber"]) == []


def test_search_ranks_the_chunk_that_uses_the_words(repo: Path) -> None:
    index = _built(repo)

    hits = index.search("rows = normalize_invoice_rows(rows, 'EUR')", 3)

    assert hits[0].path == "billing/rows.py"


def test_an_update_replaces_the_old_definitions_and_a_removal_drops_them(repo: Path) -> None:
    index = _built(repo)

    index.update("billing/rows.py", "def summarize_invoice_months(rows):\n    return {}\n")
    assert index.definitions(["normalize_invoice_rows"]) == []
    assert index.definitions([], prefix="summarize_inv")[0].path == "billing/rows.py"
    index.remove("billing/rows.py")
    assert index.definitions([], prefix="summarize_inv") == []


def test_secrets_inside_indexed_files_are_redacted_in_memory_and_on_disk(
    repo: Path, tmp_path: Path
) -> None:
    _write(repo, {"conf.py": f'def connect():\n    token = "{SECRET}"\n'})
    storage = tmp_path / "cache" / "index" / "repo.json"
    index = _built(repo, storage)

    (snippet,) = index.definitions(["connect"])
    assert SECRET not in snippet.text and "token = " in snippet.text
    assert SECRET not in storage.read_text()
    assert stat.S_IMODE(storage.stat().st_mode) == 0o600


def test_a_saved_index_is_reused_and_brought_up_to_date(repo: Path, tmp_path: Path) -> None:
    storage = tmp_path / "cache" / "repo.json"
    _built(repo, storage)
    (repo / "billing" / "rows.py").unlink()
    _write(repo, {"billing/totals.py": "def invoice_totals():\n    pass\n"})

    again = _built(repo, storage)

    assert set(load_index(storage, repo.resolve())) >= {"billing/totals.py"}
    assert again.definitions(["normalize_invoice_rows"]) == []
    assert again.definitions(["invoice_totals"])[0].path == "billing/totals.py"


def test_a_damaged_or_foreign_index_file_is_ignored(repo: Path, tmp_path: Path) -> None:
    storage = tmp_path / "repo.json"
    storage.write_text('{"version": 1, "root": "/elsewhere", "files": {}}')
    assert load_index(storage, repo.resolve()) == {}
    storage.write_text("not json")
    assert load_index(storage, repo.resolve()) == {}


def test_a_cache_directory_inside_the_workspace_is_refused(repo: Path, tmp_path: Path) -> None:
    assert index_path(repo.resolve(), repo / ".cache") is None
    outside = index_path(repo.resolve(), tmp_path / "cache")
    assert outside is not None and not outside.is_relative_to(repo)


def test_chunks_keep_their_text_when_an_earlier_function_grows() -> None:
    functions = [f"def f{n}():\n" + "    x = 1\n" * 30 for n in range(4)]
    before, _ = chunk_source("m.py", "\n".join(functions))
    functions[0] = "def f0():\n" + "    x = 1\n" * 35
    after, _ = chunk_source("m.py", "\n".join(functions))

    assert [chunk.text for chunk in before[1:]] == [chunk.text for chunk in after[1:]]
    assert all(chunk.end - chunk.start <= CHUNK_LINES for chunk in before + after)


@pytest.mark.parametrize(
    ("path", "source", "names"),
    [
        ("a.py", "class A:\n    def m(self): pass\nLIMIT = 3\n", {"A", "m", "LIMIT"}),
        ("a.js", "export const API = 1;\nfunction go() { const local = 2; }\n", {"API", "go"}),
        ("a.ts", "interface Shape {}\nclass Box { size() {} }\n", {"Shape", "Box", "size"}),
        ("a.go", "package a\ntype T struct{}\nfunc (t T) M() {}\n", {"T", "M"}),
        ("a.rs", "struct S;\nfn run() {}\ntrait Tr {}\n", {"S", "run", "Tr"}),
        ("A.java", "class A { void m() {} }\n", {"A", "m"}),
        ("a.c", "int *make(int x) { return 0; }\nstruct S { int a; };\n", {"make", "S"}),
        ("a.cpp", "namespace n { class C {}; }\nint g() { return 1; }\n", {"n", "C", "g"}),
    ],
)
def test_symbols_come_from_each_languages_grammar(path: str, source: str, names: set[str]) -> None:
    _, symbols = chunk_source(path, source)
    assert {symbol.name for symbol in symbols} == names


def test_snippets_read_back_from_a_reloaded_index_are_the_indexed_text(
    repo: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "cache" / "index" / "repo.json"
    first = _built(repo, storage).search("normalize_invoice_rows", 1)

    again = _built(repo, storage).search("normalize_invoice_rows", 1)

    assert again == first and first[0].text.startswith("def normalize_invoice_rows(")
    assert stat.S_IMODE(storage.stat().st_mode) == 0o600
    assert sorted(path.name for path in storage.parent.iterdir()) == ["repo.json"]


def test_an_index_saved_in_the_first_format_is_rebuilt_not_read(repo: Path, tmp_path: Path) -> None:
    storage = tmp_path / "repo.json"
    chunk = [0, 1, "def normalize_invoice_rows():\n"]
    old = {"stamp": [0, 1], "chunks": [chunk], "symbols": [["stale_name", "x", 0]]}
    storage.write_text(
        json.dumps({"version": 1, "root": str(repo.resolve()), "files": {"a.py": old}})
    )

    assert load_index(storage, repo.resolve()) == {}
    assert _built(repo, storage).definitions(["stale_name"]) == []


def test_texts_stay_right_when_replaced_ones_are_dropped_from_the_text_file(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("aurelis.index.repo_index._MIN_GARBAGE_BYTES", 0)
    index = _built(repo)
    for version in range(3):
        index.update("billing/rows.py", f"def summarize_v{version}(rows):\n    return rows\n")
    index.save()  # rewrites the text file: most of it was replaced texts

    (snippet,) = index.definitions(["summarize_v2"])
    assert snippet.text.startswith("def summarize_v2(rows):")
    assert index.definitions(["padInvoiceNumber"])[0].text.startswith("export function pad")
