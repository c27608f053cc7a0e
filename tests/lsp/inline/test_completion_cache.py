"""The inline completion cache: typing along a suggestion hits, anything else misses."""

from __future__ import annotations

from aurelis.lsp.inline.cache import CompletionCache


def test_cache_answers_typing_along_and_nothing_else() -> None:
    cache = CompletionCache()
    cache.store("file:///a.py", "x = ", "\n", "compute(1)")
    assert cache.lookup("file:///a.py", "x = ", "\n") == "compute(1)"
    assert cache.lookup("file:///a.py", "x = comp", "\n") == "ute(1)"
    assert cache.lookup("file:///a.py", "x = cat", "\n") is None
    assert cache.lookup("file:///a.py", "x = comp", "\nnew line") is None
    assert cache.lookup("file:///b.py", "x = comp", "\n") is None
    assert cache.lookup("file:///a.py", "x = compute(1)", "\n") is None


def test_cache_notices_a_change_far_before_the_cursor() -> None:
    cache = CompletionCache()
    prefix = "import os\n" + "pass\n" * 50 + "x = "
    cache.store("file:///a.py", prefix, "", "1")
    assert cache.lookup("file:///a.py", prefix.replace("os", "re"), "") is None
