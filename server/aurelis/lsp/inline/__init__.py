"""Inline completion: the request handler, its prompt window, cache, quality gates and
speculation."""
