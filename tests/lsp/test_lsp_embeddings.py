"""Retrieval by meaning, end to end: the real server embeds the index's chunks through the
real azure-ai-inference EmbeddingsClient on the loopback server's embeddings route, and a
code action's recorded prompt shows what the fusion with BM25 added. Off by default."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.lsp.conftest import Starter
from tests.lsp.harness import AurelisTestClient, end_position

from aurelis.testing import EMBEDDINGS_PATHS, ModelServer, Reply
from aurelis.testing.script import RecordedRequest

EMBEDDINGS_MODEL = "embed-test"
GITHUB_TOKEN = "ghp_" + "M1n2B3v4C5x6Z7l8K9j0H1g2F3d4S5a6P7o8"
# No word in common with the month-end code below: BM25 cannot find it, meaning can.
LEDGER = 'settle_outstanding_balance = partial(pay_debt, order="oldest first")\n'
MONTH_END = (
    "def close_the_month(books):\n    # what each customer still owes us\n    books.lock()\n"
)
_OWING = {"owes", "owed", "outstanding", "balance", "debt"}


def _by_meaning(text: str) -> list[float]:
    """Two directions: about money owed, or about anything else."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    return [1.0, 0.0] if words & _OWING else [0.0, 1.0]


def _embedding_requests(model: ModelServer) -> list[RecordedRequest]:
    return [request for request in model.requests if request.path in EMBEDDINGS_PATHS]


def _sent_texts(model: ModelServer) -> list[str]:
    texts: list[str] = []
    for request in _embedding_requests(model):
        texts += request.body["input"]
    return texts


def _chat_prompts(model: ModelServer) -> list[str]:
    return [
        "\n".join(str(message.get("content", "")) for message in request.messages)
        for request in model.requests
        if request.path not in EMBEDDINGS_PATHS
    ]


def _chat_prompt(model: ModelServer) -> str:
    (prompt,) = _chat_prompts(model)
    return prompt


def _embedded(status: dict[str, Any]) -> bool:
    chunks = (status.get("embeddings") or {}).get("chunks") or {}
    return bool(chunks) and all(count > 0 for count in chunks.values())


async def _start(start_lsp: Starter, project: Path, embeddings: bool) -> AurelisTestClient:
    (project / "billing").mkdir(exist_ok=True)
    (project / "billing" / "ledger.py").write_text(LEDGER)
    (project / "reports").mkdir(exist_ok=True)
    env = {"AURELIS_RETRIEVAL_EMBEDDINGS_MODEL": EMBEDDINGS_MODEL} if embeddings else {}
    client = await start_lsp(env=env)
    if embeddings:
        await client.wait_for_status(_embedded)
    else:
        await client.wait_for_status(lambda status: bool(status.get("index")))
    return client


async def _explain_month_end(client: AurelisTestClient, project: Path) -> Any:
    uri = client.open(project / "reports" / "month_end.py", MONTH_END)
    return await client.command(
        "aurelis.explain", {"uri": uri, "position": {"line": 1, "character": 6}}
    )


@pytest.fixture
def meaning(model: ModelServer) -> ModelServer:
    model.set_embedder(EMBEDDINGS_MODEL, _by_meaning)
    model.set_default("*", Reply(content="It closes the month."))
    return model


@pytest.mark.parametrize("embeddings", [True, False], ids=["embeddings on", "off (default)"])
async def test_an_action_gets_code_alike_in_meaning_that_bm25_misses(
    start_lsp: Starter, meaning: ModelServer, project: Path, embeddings: bool
) -> None:
    client = await _start(start_lsp, project, embeddings)
    meaning.requests.clear()

    await _explain_month_end(client, project)

    prompt = _chat_prompt(meaning)
    assert ("settle_outstanding_balance = partial(" in prompt) is embeddings
    assert "billing/ledger.py" in prompt  # the workspace tree names it either way
    # On, the query (the code around the cursor) went to the embeddings route; off, nothing.
    sent = _sent_texts(meaning)
    assert bool(sent) is embeddings
    assert all("close_the_month" in text for text in sent)


async def test_inline_completions_get_it_once_the_lines_embedding_is_known(
    start_lsp: Starter, meaning: ModelServer, project: Path
) -> None:
    client = await _start(start_lsp, project, embeddings=True)
    meaning.requests.clear()
    text = MONTH_END + "    unpaid = "
    uri = client.open(project / "reports" / "month_end.py", text)

    await client.inline(uri, end_position(text))
    # No round trip inside an inline request: the lines before the cursor's are embedded
    # in the background, and the next request on the line gets what they find.
    await client.wait_for(lambda: _sent_texts(meaning) or None)
    client.type_at_end(uri, "b")
    await client.inline(uri, end_position(text + "b"))

    first, second = _chat_prompts(meaning)
    assert "settle_outstanding_balance" not in first
    assert "settle_outstanding_balance = partial(" in second
    (query,) = _sent_texts(meaning)
    assert query.startswith("def close_the_month(books):") and "unpaid" not in query


async def test_secrets_never_reach_the_embeddings_route(
    start_lsp: Starter, meaning: ModelServer, project: Path
) -> None:
    (project / "keys.py").write_text(f'def github_client():\n    token = "{GITHUB_TOKEN}"\n')
    await _start(start_lsp, project, embeddings=True)

    sent = "\n".join(_sent_texts(meaning))
    assert "def github_client():" in sent  # the file was embedded...
    assert GITHUB_TOKEN not in sent  # ...with its secret masked
    assert all(GITHUB_TOKEN not in str(request.body) for request in meaning.requests)


async def test_vectors_are_kept_private_and_only_changed_chunks_are_embedded_again(
    start_lsp: Starter, meaning: ModelServer, project: Path
) -> None:
    client = await _start(start_lsp, project, embeddings=True)
    assert any("settle_outstanding_balance" in text for text in _sent_texts(meaning))
    meaning.requests.clear()

    ledger = client.open(project / "billing" / "ledger.py")
    client.type_at_end(ledger, "write_off_small_debts = partial(pay_debt, below=5)\n")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=ledger))
    )
    await client.wait_for(lambda: _sent_texts(meaning) or None)

    (changed,) = _sent_texts(meaning)  # the one chunk of the edited file, nothing else
    assert "write_off_small_debts" in changed
    await client.shutdown_session()

    assert _vector_files(Path(os.environ["AURELIS_CACHE_DIR"])) == [0o600]
    assert _vector_files(project) == []  # nothing written into the workspace


def _vector_files(folder: Path) -> list[int]:
    """The modes of the vector files under `folder`."""
    return [stat.S_IMODE(path.stat().st_mode) for path in folder.rglob("*.vectors")]


async def test_a_restart_reuses_the_saved_vectors(
    start_lsp: Starter, meaning: ModelServer, project: Path
) -> None:
    first = await _start(start_lsp, project, embeddings=True)
    await first.shutdown_session()
    meaning.requests.clear()

    await _start(start_lsp, project, embeddings=True)

    assert _sent_texts(meaning) == []


async def test_a_failing_embeddings_route_leaves_actions_to_bm25(
    start_lsp: Starter, meaning: ModelServer, project: Path
) -> None:
    meaning.set_default(EMBEDDINGS_MODEL, Reply(status=503, error_message="overloaded"))
    (project / "billing").mkdir()
    (project / "billing" / "ledger.py").write_text(LEDGER)
    client = await start_lsp(env={"AURELIS_RETRIEVAL_EMBEDDINGS_MODEL": EMBEDDINGS_MODEL})
    status = await client.wait_for_status(
        lambda status: bool((status.get("embeddings") or {}).get("error"))
    )
    print(status["embeddings"]["error"])
    assert EMBEDDINGS_MODEL in status["embeddings"]["error"]
    meaning.requests.clear()

    result = await _explain_month_end(client, project)

    assert "It closes the month." in str(result)
    prompt = _chat_prompt(meaning)
    assert "reports/month_end.py" in prompt and "settle_outstanding_balance" not in prompt


async def test_a_refused_chunk_goes_without_and_long_ones_send_their_head(
    start_lsp: Starter, meaning: ModelServer, project: Path
) -> None:
    (project / "wide.py").write_text("TABLE = [\n" + f"    '{'y' * 900}',\n" * 12 + "]\n")
    # The route refuses the first request (every chunk at once) and the first text alone.
    refused = Reply(status=400, error_message="input is too long for the model")
    meaning.script(EMBEDDINGS_MODEL, refused, refused)

    client = await _start(start_lsp, project, embeddings=True)

    batch, *alone = [r.body["input"] for r in _embedding_requests(meaning)]
    assert len(batch) > 2 and [texts[0] for texts in alone] == batch  # then one a request
    status = await client.wait_for_status(_embedded)
    (searchable,) = status["embeddings"]["chunks"].values()
    assert searchable == len(batch) - 1 and status["embeddings"]["error"] is None
    assert max(len(text) for text in batch) == 6000  # the wide chunk's head
