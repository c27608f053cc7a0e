"""Embeddings from the real llama-cpp-python server (`--embedding true`), as a third-party
endpoint: our client reads its answer (token vectors for a model without pooling, such as
the embedded gemma-3, averaged into one), and retrieval by meaning runs on it end to end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.interop.llama_server import ALIAS, LlamaServer

from aurelis.index.files import IndexFilter
from aurelis.index.repo_index import RepoIndex
from aurelis.index.throttle import Throttle
from aurelis.lsp.workspace.indexes import WorkspaceIndexes
from aurelis.lsp.workspace.semantic import SemanticRetrieval
from aurelis.models.providers.embeddings import EndpointEmbeddings

pytestmark = pytest.mark.local_model

_GEMMA_WIDTH = 640  # gemma-3 270M's embedding length


@pytest.fixture(scope="module")
def embedding_server(tmp_path_factory: pytest.TempPathFactory) -> LlamaServer:
    from tests.interop.llama_server import launch

    server = launch(tmp_path_factory.mktemp("llama-embeddings"), "--embedding", "true")
    yield server
    server.kill()


async def test_each_text_gets_one_vector_in_order(embedding_server: LlamaServer) -> None:
    client = EndpointEmbeddings(embedding_server.url, None, ALIAS)
    try:
        both = await client.embed(["def add(a, b):\n    return a + b\n", "settle the debt"])
        alone = await client.embed(["settle the debt"])
    finally:
        await client.close()

    assert [len(vector) for vector in both] == [_GEMMA_WIDTH, _GEMMA_WIDTH]
    assert alone[0] == pytest.approx(both[1], abs=1e-4)  # the same text, the same vector
    assert both[0] != pytest.approx(both[1], abs=1e-2)


async def _until(check: Callable[[], bool], seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_a_repository_is_embedded_and_searched_by_meaning(
    embedding_server: LlamaServer, tmp_path: Path
) -> None:
    root = (tmp_path / "shop").resolve()
    (root / "billing").mkdir(parents=True)
    (root / "billing" / "ledger.py").write_text("def settle_debt(account):\n    account.pay()\n")
    (root / "web").mkdir()
    (root / "web" / "page.js").write_text("function render(page) {\n  return page.html;\n}\n")
    index = RepoIndex(root, tmp_path / "cache" / "index" / "shop.json", IndexFilter())
    assert index.build(throttle=Throttle(duty=1))
    indexes = WorkspaceIndexes()
    indexes.adopt(index)
    semantic = SemanticRetrieval(indexes)
    semantic.start(ALIAS, EndpointEmbeddings(embedding_server.url, None, ALIAS))
    try:
        await _until(lambda: (semantic.status() or {}).get("chunks", {}).get(str(root)) == 2, 120)
        text = "def close_month(books):\n    books.pay_all()\n"
        hits = await semantic.hits(str(root / "reports" / "month.py"), text, len(text), 60)
    finally:
        await semantic.stop()

    assert {hit.path for hit in hits} == {"billing/ledger.py", "web/page.js"}
    assert semantic.error is None
    assert (tmp_path / "cache" / "index" / "shop.vectors").stat().st_size > 2 * _GEMMA_WIDTH * 4
