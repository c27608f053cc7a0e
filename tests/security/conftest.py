"""The security tests drive the real language server and CLI like the LSP and CLI suites:
reuse their fixtures (a loopback model server on a thread, a copy of the fixture project,
the pytest-lsp starter)."""

from __future__ import annotations

from tests.lsp.conftest import model, model_backend, project, start_lsp

__all__ = ["model", "model_backend", "project", "start_lsp"]
