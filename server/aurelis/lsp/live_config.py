"""The live config, routing and orchestrator, imported on first use.

pydantic and the HTTP client stack take most of a second to import on a busy machine,
while an editor waits for the server's `initialize` result. Nothing on that path imports
them: the server loads them while handling `initialized`, and warms the rest (orchestrator,
tokenizer) in a worker thread so the first completion is not the slow one.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aurelis.core.exceptions import ConfigurationError

if TYPE_CHECKING:
    from aurelis.core.config import AurelisConfig
    from aurelis.models import ModelOrchestrator
    from aurelis.models.types import ModelRequest, ModelType, TaskType

__all__ = [
    "get_config",
    "load_or_defaults",
    "orchestrator",
    "orchestrator_if_loaded",
    "primary_model",
    "process_wide",
    "route",
    "warm_up",
]


def get_config() -> AurelisConfig:
    from aurelis.core import config

    return config.get_config()


@contextlib.contextmanager
def process_wide() -> Iterator[None]:
    """Within this block `get_config()` is the process-wide config, even while a request
    about one workspace folder is handled with that folder's (`lsp.root_configs`)."""
    if "aurelis.core.config" not in sys.modules:
        yield  # nothing loaded yet: nothing can be in force
        return
    from aurelis.core.config import config_in_force

    with config_in_force(None):
        yield


def load_or_defaults() -> ConfigurationError | None:
    """Load the config; if a layer (a file, the environment) is broken, load the others
    and return what is wrong with it."""
    from aurelis.core import config, config_layers

    try:
        config.get_config()
    except ConfigurationError:
        loaded, errors = config_layers.load_config_tolerant()
        config.reset_config(loaded)
        if len(errors) == 1:
            return errors[0]
        return ConfigurationError("; ".join(error.message for error in errors))
    return None


def primary_model(request: ModelRequest) -> ModelType:
    from aurelis.models import routing

    return routing.primary_model(request, get_config())


def route(task: TaskType) -> ModelType:
    from aurelis.models import routing

    return routing.route(task, get_config())


def orchestrator() -> ModelOrchestrator:
    """The process-wide orchestrator (imported on the first call)."""
    from aurelis.models import get_model_orchestrator

    return get_model_orchestrator()


def orchestrator_if_loaded() -> ModelOrchestrator | None:
    """The orchestrator if something already loaded it (status must not pay for the import)."""
    if "aurelis.models.orchestrator" not in sys.modules:
        return None
    return orchestrator()


def warm_up() -> None:
    """Import the orchestrator, load the tokenizer and detect-secrets (a worker thread)."""
    from aurelis.core.secrets import detector_available
    from aurelis.models.tokens import count_tokens

    orchestrator()
    count_tokens("warm up")
    detector_available()  # its ~200 ms import, here rather than in the first request
