"""Incremental document sync through the real server: what the server holds after edits.

The server's copy of a document is read back through an invoked inline completion at the
start of the document: the prompt the loopback model receives carries the whole (small)
document after the cursor marker, character for character.
"""

from __future__ import annotations

import re
from pathlib import Path

from lsprotocol import types
from pygls.protocol import JsonRPCNotification
from tests.lsp.harness import AurelisTestClient

from aurelis.testing import ModelServer, Reply

MARKER = "<|CURSOR|>"
_CODE_BLOCK = re.compile(r"(`{3,})python\n(.*)\n\1", re.DOTALL)


def _range(start: tuple[int, int], end: tuple[int, int]) -> types.Range:
    return types.Range(
        start=types.Position(line=start[0], character=start[1]),
        end=types.Position(line=end[0], character=end[1]),
    )


class Document:
    """An open document, edited with raw incremental changes (no client-side model)."""

    def __init__(self, lsp: AurelisTestClient, model: ModelServer, path: Path, text: str):
        self.lsp, self.model = lsp, model
        self.uri = lsp.open(path, text)
        self.version = 1

    def change(self, *edits: tuple[tuple[int, int], tuple[int, int], str]) -> None:
        self.version += 1
        self.lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=self.uri, version=self.version
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=_range(start, end), text=text)
                    for start, end, text in edits
                ],
            )
        )

    async def server_text(self) -> str:
        """The document as the server holds it now."""
        before = len(self.model.requests)
        await self.lsp.inline(self.uri, types.Position(line=0, character=0))
        assert len(self.model.requests) == before + 1, "the server asked no model"
        match = _CODE_BLOCK.search(self.model.requests[-1].last_user_message)
        assert match is not None, "no code block in the prompt"
        code = match.group(2)
        assert code.startswith(MARKER)
        return code[len(MARKER) :]


def _document(lsp: AurelisTestClient, model: ModelServer, project: Path, text: str) -> Document:
    model.set_default("*", Reply(content="pass"))
    return Document(lsp, model, project / "pkg" / "synced.py", text)


async def test_edits_next_to_surrogate_pairs_count_utf16_units(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    doc = _document(lsp, model, project, "s = '😀x'\nt = '🎉🎉'\n")
    doc.change(((0, 7), (0, 7), "!"))  # after the emoji: 5 + 2 units
    doc.change(((1, 7), (1, 9), ""))  # the second 🎉
    doc.change(((1, 5), (1, 5), "é"))
    assert await doc.server_text() == "s = '😀!x'\nt = 'é🎉'\n"
    doc.change(((0, 5), (0, 7), "ab"))  # replace the emoji itself
    assert await doc.server_text() == "s = 'ab!x'\nt = 'é🎉'\n"


async def test_crlf_line_ends_survive_edits_at_and_across_them(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    doc = _document(lsp, model, project, "one\r\ntwo\r\nthree\r\n")
    doc.change(((1, 3), (1, 3), "!"))
    doc.change(((0, 99), (0, 99), ";"))  # past the end of the line: before its "\r\n"
    assert await doc.server_text() == "one;\r\ntwo!\r\nthree\r\n"
    doc.change(((0, 4), (1, 0), " "))  # join two lines
    doc.change(((0, 4), (0, 4), "\r\n"))  # and split them again
    doc.change(((2, 2), (2, 2), "X"))  # line numbers count the CRLF just inserted
    assert await doc.server_text() == "one;\r\n two!\r\nthXree\r\n"


async def test_edits_spanning_lines_replace_exactly_their_range(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    doc = _document(lsp, model, project, "a = 1\nb = 2\nc = 3\nd = 4\n")
    doc.change(((0, 4), (2, 3), "10\nb = 20\nz ="))
    doc.change(((3, 0), (4, 0), ""))  # delete the last line, its newline too
    doc.change(((1, 1), (1, 1), "b\nbb"), ((0, 0), (0, 0), "# head\n"))  # applied in order
    assert await doc.server_text() == "# head\na = 10\nbb\nbb = 20\nz = 3\n"


async def test_edits_at_the_end_of_the_document(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    doc = _document(lsp, model, project, "x = 1\n")
    doc.change(((1, 0), (1, 0), "y = 2"))  # the empty last line after the final newline
    doc.change(((1, 5), (1, 5), "\n"))
    doc.change(((2, 0), (2, 0), "z = 3"))
    assert await doc.server_text() == "x = 1\ny = 2\nz = 3"
    doc.change(((1, 5), (2, 5), ""))  # delete through the end
    assert await doc.server_text() == "x = 1\ny = 2"


async def test_positions_past_the_document_are_clamped_and_lose_no_text(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    doc = _document(lsp, model, project, "x = 1\n")
    doc.change(((1000, 0), (1000, 5), "tail()"))  # past the last line: appended at the end
    doc.change(((0, 50), (0, 70), "  # one"))  # past the line's end: at the line's end
    doc.change(((1, 6), (1, 0), "call"))  # end before start: the range between them
    assert await doc.server_text() == "x = 1  # one\ncall"


async def test_a_change_with_negative_positions_is_refused_and_the_server_keeps_going(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    doc = _document(lsp, model, project, "x = 1\n")
    doc.version += 1
    # Sent as it is: the typed client would refuse to build these positions.
    raw = JsonRPCNotification(
        jsonrpc="2.0",
        method=types.TEXT_DOCUMENT_DID_CHANGE,
        params={
            "textDocument": {"uri": doc.uri, "version": doc.version},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": -1, "character": 0},
                        "end": {"line": 0, "character": -3},
                    },
                    "text": "lost?",
                }
            ],
        },
    )
    lsp.protocol._send_data(raw)
    doc.change(((1, 0), (1, 0), "y = 2\n"))
    assert await doc.server_text() == "x = 1\ny = 2\n"


async def test_a_full_document_change_replaces_the_text(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    doc = _document(lsp, model, project, "old = True\n")
    doc.version += 1
    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="new = 1\n")],
        )
    )
    doc.change(((0, 3), (0, 3), "er"))
    assert await doc.server_text() == "newer = 1\n"


async def test_inline_suggestion_range_uses_utf16_columns_after_edits(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    doc = _document(lsp, model, project, "name = '😀'\n")
    doc.change(((0, 11), (0, 11), " + "))  # after the closing quote: 9 characters, 11 units
    model.set_default("*", Reply(content="suffix"))
    cursor = types.Position(line=0, character=14)
    result = await lsp.inline(doc.uri, cursor)
    assert result.items and result.items[0].range == types.Range(start=cursor, end=cursor)
    assert f"name = '😀' + {MARKER}" in model.requests[-1].last_user_message
