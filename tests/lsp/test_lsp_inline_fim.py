"""Inline completion as fill-in-the-middle for a model whose server speaks it."""

from __future__ import annotations

import json
from pathlib import Path

from lsprotocol import types
from tests.lsp.harness import AurelisTestClient

from aurelis.testing import ModelServer, Reply

CODE = "def add(a, b):\n    return \n\n\nprint(add(1, 2))\n"
CURSOR = types.Position(line=1, character=11)


async def test_a_fim_model_gets_prefix_and_suffix_on_the_completions_route(
    start_lsp, model: ModelServer, project: Path
) -> None:
    fim = json.dumps({"codestral-2501": "openai"})
    lsp: AurelisTestClient = await start_lsp(env={"AURELIS_INLINE_FIM": fim})
    model.set_default("*", Reply(content="a + b\n"))
    uri = lsp.open(project / "pkg" / "fim.py", CODE)

    result = await lsp.inline(uri, CURSOR)

    [sent] = model.requests
    assert sent.path == "/v1/completions"
    assert sent.body["prompt"].endswith("def add(a, b):\n    return ")
    assert sent.body["suffix"].startswith("\n\n\nprint(add(1, 2))")
    assert "<|CURSOR|>" not in sent.body["prompt"]
    assert [str(item.insert_text) for item in result.items] == ["a + b"]


async def test_secrets_are_redacted_in_fim_prompts_too(
    start_lsp, model: ModelServer, project: Path
) -> None:
    fim = json.dumps({"codestral-2501": "llama_cpp"})
    lsp: AurelisTestClient = await start_lsp(env={"AURELIS_INLINE_FIM": fim})
    model.set_default("*", Reply(content="1"))
    secret = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    text = f'TOKEN = "{secret}"\nvalue = \n'
    uri = lsp.open(project / "pkg" / "keyed.py", text)

    await lsp.inline(uri, types.Position(line=1, character=8))

    [sent] = model.requests
    assert sent.path == "/infill"
    assert secret not in json.dumps(sent.body)
    assert "[REDACTED]" in sent.body["input_prefix"]


async def test_llama_cpp_infill_gets_code_just_written_elsewhere_as_input_extra(
    start_lsp, model: ModelServer, project: Path
) -> None:
    fim = json.dumps({"codestral-2501": "llama_cpp"})
    lsp: AurelisTestClient = await start_lsp(env={"AURELIS_INLINE_FIM": fim})
    model.set_default("*", Reply(content="ional_tax(total, 'eu')"))
    # Typed into another file and not saved: only the recent-edits ring knows it.
    helpers = lsp.open(project / "pkg" / "taxes.py", "\n")
    written = "def apply_regional_tax(amount, region):\n    return amount * 1.2\n"
    start = types.Position(line=0, character=0)
    lsp.edit(helpers, types.Range(start=start, end=start), written)
    text = "total = 10\ncharged = apply_reg"
    uri = lsp.open(project / "pkg" / "bill.py", text)

    await lsp.inline(uri, types.Position(line=1, character=len("charged = apply_reg")))

    [sent] = model.requests
    assert sent.path == "/infill"
    # (the chunk's trailing blank lines are not sent)
    assert {"filename": "pkg/taxes.py", "text": written} in sent.body["input_extra"]
    assert sent.body["input_prefix"] == text  # the related code is not in the prefix too
