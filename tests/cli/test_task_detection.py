"""Task auto-detection: keywords in the prose, then the shape of the prompt."""

from __future__ import annotations

import pytest

from aurelis.cli.task_detection import detect_task, looks_like_code, strip_code
from aurelis.models.types import TaskType


@pytest.mark.parametrize(
    ("prompt", "task"),
    [
        (
            "Write a Python function that returns the n-th Fibonacci number",
            TaskType.CODE_GENERATION,
        ),
        ("implement a binary search", TaskType.CODE_GENERATION),
        ("a class that wraps a socket", TaskType.CODE_GENERATION),
        ("Explain this code", TaskType.EXPLANATION),
        ("What does this regex do?", TaskType.EXPLANATION),
        ("walk me through the event loop", TaskType.EXPLANATION),
        ("Add docstrings to every public function", TaskType.DOCUMENTATION),
        ("document this module", TaskType.DOCUMENTATION),
        ("Refactor the parser into smaller functions", TaskType.REFACTORING),
        ("clean this up please", TaskType.REFACTORING),
        ("Make this loop faster", TaskType.CODE_OPTIMIZATION),
        ("optimize memory usage of the cache", TaskType.CODE_OPTIMIZATION),
        ("Review my code for security issues", TaskType.ANALYSIS),
        ("find bugs in the retry logic", TaskType.ANALYSIS),
        ("fix the crash in main", TaskType.ANALYSIS),
        ("hello there", TaskType.GENERAL),
        ("Import the data and plot it.", TaskType.GENERAL),
    ],
)
def test_keywords_in_the_prompt_pick_the_task(prompt: str, task: TaskType) -> None:
    assert detect_task(prompt).task is task


def test_a_specific_task_beats_plain_generation() -> None:
    # "write" alone would be generation; "write tests" is a testing request.
    assert detect_task("Write unit tests for parse_date()").task is TaskType.TESTING
    assert detect_task("write a docstring for this").task is TaskType.DOCUMENTATION


def test_among_specific_tasks_the_first_phrase_wins() -> None:
    assert detect_task("Refactor this and add docstrings").task is TaskType.REFACTORING
    assert detect_task("Add docstrings, then refactor it").task is TaskType.DOCUMENTATION


def test_keywords_inside_code_do_not_count() -> None:
    prompt = "```python\ndef test_explain(): optimize()\n```\nwhat is wrong here"
    assert strip_code(prompt).strip() == "what is wrong here"
    assert detect_task("rename `explain_all` to something clearer").task is TaskType.REFACTORING


def test_a_prompt_that_is_code_asks_for_completion() -> None:
    detection = detect_task("def fib(n):\n    if n < 2:\n        return n\n")
    assert detection.task is TaskType.CODE_COMPLETION
    assert "code" in detection.reason


def test_a_question_about_attached_code_is_an_explanation() -> None:
    assert detect_task("is this right?", has_code=True).task is TaskType.EXPLANATION
    assert detect_task("is this right?").task is TaskType.GENERAL
    assert detect_task("```js\nlet x = 1\n```\nok?").task is TaskType.EXPLANATION


def test_the_reason_names_the_keyword_that_decided() -> None:
    assert detect_task("Please explain the GIL").reason == 'keyword "explain the"'


@pytest.mark.parametrize(
    ("text", "is_code"),
    [
        ("def f(x):\n    return x * 2", True),
        ("const x = require('fs');\nx.readFileSync(p);", True),
        ("SELECT id FROM users WHERE name = 'x';", True),
        ("Here is what I want:", False),
        ("Import the data and plot it.", False),
        ("why does this fail?", False),
        ("", False),
    ],
)
def test_code_shape(text: str, is_code: bool) -> None:
    assert looks_like_code(text) is is_code
