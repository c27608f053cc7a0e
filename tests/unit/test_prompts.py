"""Prompt assembly: system prompts, context sections, token fitting, redaction."""

from __future__ import annotations

import pytest

from aurelis.core.exceptions import PromptTooLongError
from aurelis.models import ModelRequest, TaskType
from aurelis.models.prompts import SYSTEM_PROMPTS, build_completion_prompt, build_messages
from aurelis.models.tokens import count_tokens


def test_each_task_has_its_own_default_system_prompt() -> None:
    assert set(SYSTEM_PROMPTS) == set(TaskType)
    assert len(set(SYSTEM_PROMPTS.values())) == len(TaskType)
    built = build_messages(ModelRequest(prompt="x", task_type=TaskType.TESTING), 1000)
    assert built.messages[0] == {"role": "system", "content": SYSTEM_PROMPTS[TaskType.TESTING]}


def test_system_prompt_replaces_the_default() -> None:
    built = build_messages(ModelRequest(prompt="x", system_prompt="You are terse."), 1000)
    assert built.messages[0]["content"] == "You are terse."


def test_context_sections_are_labelled_fenced_and_in_stable_order() -> None:
    request = ModelRequest(
        prompt="Fix it",
        context={
            "zeta": "last",
            "error_patterns": ["IndexError"],
            "alpha": {"b": 1},
            "project_structure": "src/app.py",
            "existing_code": "def f():\n    pass",
        },
    )
    user = build_messages(request, 2000).messages[1]["content"]
    headings = [line for line in user.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Existing code",
        "## Project structure",
        "## Error patterns",
        "## Alpha",
        "## Zeta",
        "## Request",
    ]
    assert "```\ndef f():\n    pass\n```" in user
    assert user.endswith("## Request\nFix it")


def test_fence_cannot_be_broken_by_backticks_in_context() -> None:
    code = "doc = '''\n```python\nx\n```\n'''"
    user = build_messages(ModelRequest(prompt="p", context={"existing_code": code}), 2000)
    assert "````\n" + code + "\n````" in user.messages[1]["content"]


def test_context_is_trimmed_first_and_reported() -> None:
    big = "def handler(event):\n    return event['x']\n" * 400
    request = ModelRequest(
        prompt="Document this",
        context={"existing_code": big, "error_patterns": "KeyError: 'x'"},
    )
    built = build_messages(request, 600)
    assert built.prompt_tokens <= 600
    user = built.messages[1]["content"]
    assert "KeyError: 'x'" in user  # the small section survives whole
    assert user.endswith("Document this")
    [cut] = built.truncated
    assert cut["key"] == "existing_code"
    assert cut["original_tokens"] == count_tokens(big)
    assert 0 < cut["kept_tokens"] < cut["original_tokens"]


def test_prompt_is_never_cut_silently() -> None:
    with pytest.raises(PromptTooLongError) as raised:
        build_messages(ModelRequest(prompt="word " * 2000), 500)
    assert "500" in str(raised.value)


def test_secrets_in_prompt_and_context_are_redacted() -> None:
    request = ModelRequest(
        prompt="Why does login fail? password = 'hunter2hunter2'",
        context={"existing_code": 'API_KEY = "sk-abcdefghijklmnopqrstuvwx"\n'},
    )
    text = "\n".join(m["content"] for m in build_messages(request, 2000).messages)
    assert "hunter2hunter2" not in text and "sk-abcdefghijklmnopqrstuvwx" not in text
    assert "[REDACTED]" in text


def test_completion_prompt_for_base_models_reads_as_a_document() -> None:
    request = ModelRequest(
        prompt="a function that reverses a string.", task_type=TaskType.CODE_GENERATION
    )
    built = build_completion_prompt(request, 1000)
    # A worked example first, then the request as a comment and the answer's first word.
    assert built.text.startswith("# Python 3\n")
    assert built.text.endswith("\n# a function that reverses a string.\ndef")
    assert built.lead == "def" and "\n\n\n" in built.stops and built.truncated == []


def test_completion_prompt_for_documentation_opens_a_docstring() -> None:
    docs = ModelRequest(
        prompt="Docstring",
        task_type=TaskType.DOCUMENTATION,
        context={"existing_code": "def f(): pass", "project_structure": "a.py"},
    )
    built = build_completion_prompt(docs, 1000)
    assert built.text == 'def f(): pass\n\n\n# Docstring\n"""' and built.stops == ['"""']


def test_completion_prompt_for_other_languages_has_no_python_example() -> None:
    request = ModelRequest(
        prompt="sum two numbers",
        task_type=TaskType.CODE_GENERATION,
        context={"language": "rust"},
    )
    built = build_completion_prompt(request, 1000)
    assert "def " not in built.text and built.lead == ""
