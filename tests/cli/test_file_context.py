"""--file / --lines: what part of a file becomes context, redacted, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurelis.cli.errors import CliUsageError
from aurelis.cli.file_context import load_file_context, parse_line_range


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("10-40", (10, 40)),
        ("10-", (10, None)),
        ("-40", (None, 40)),
        ("12", (12, 12)),
        (" 3 : 5 ", (3, 5)),
    ],
)
def test_line_ranges(spec: str, expected: tuple[int | None, int | None]) -> None:
    assert parse_line_range(spec) == expected


@pytest.mark.parametrize("spec", ["", "-", "a-b", "0-3", "5-2", "1-2-3"])
def test_bad_line_ranges_are_usage_errors(spec: str) -> None:
    with pytest.raises(CliUsageError):
        parse_line_range(spec)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text("".join(f"line{n} = {n}\n" for n in range(1, 51)))
    return path


def test_a_range_keeps_exactly_those_lines(source: Path) -> None:
    context = load_file_context(source, "10-12")
    assert context.text == "line10 = 10\nline11 = 11\nline12 = 12\n"
    assert context.label == "app.py:10-12"
    assert context.language == "python"
    assert context.as_context() == {"existing_code": context.text}


def test_the_whole_file_without_a_range(source: Path) -> None:
    context = load_file_context(source)
    assert context.text.count("\n") == 50 and context.label == "app.py"


def test_a_range_past_the_end_names_the_file_length(source: Path) -> None:
    with pytest.raises(CliUsageError, match="50 lines"):
        load_file_context(source, "45-60")


def test_secrets_in_the_file_are_redacted(tmp_path: Path) -> None:
    path = tmp_path / "settings.py"
    path.write_text('API_KEY = "sk-abcdefghijklmnopqrstuvwxyz123456"\nDEBUG = True\n')
    context = load_file_context(path)
    assert "sk-abcdefghijklmnopqrstuvwxyz123456" not in context.text
    assert "DEBUG = True" in context.text


@pytest.mark.parametrize(
    "name", [".env", ".env.local", "prod.env", ".netrc", "server.pem", "id_ed25519", ".pgpass"]
)
def test_secret_files_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("TOKEN=abc\n")
    with pytest.raises(CliUsageError, match="credentials file"):
        load_file_context(path)


def test_a_link_to_a_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".netrc").write_text("machine example.test login bob password pw-1234\n")
    link = tmp_path / "notes.txt"
    link.symlink_to(tmp_path / ".netrc")
    with pytest.raises(CliUsageError, match="credentials file"):
        load_file_context(link)


def test_missing_binary_and_directory_paths_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    for path, message in [
        (tmp_path / "nope.py", "does not exist"),
        (tmp_path / "blob.bin", "binary"),
        (tmp_path, "directory"),
    ]:
        with pytest.raises(CliUsageError, match=message):
            load_file_context(path)
