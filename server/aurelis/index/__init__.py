"""The repository index: code chunks and symbol definitions of a workspace root, ranked by
tantivy (BM25), kept in the user's cache directory and redacted on the way in.

A layer of its own below `lsp` and `cli` (both use it; the CLI without a server) that
imports nothing of ours but `core`.
"""
