"""A bare pygls hello-world language server: the start-up floor of any pygls server.

Run by `lsp_startup_compare.py`; it registers one feature so `initialize` answers with a
capability, and does nothing else.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("hello", "v1")


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(params: types.HoverParams) -> types.Hover:
    return types.Hover(contents="hello")


if __name__ == "__main__":
    server.start_io()
