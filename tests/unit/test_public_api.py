"""`aurelis.models` is the library's one public face: what it exports, and the old paths."""

from __future__ import annotations

import importlib

import aurelis.models

EXPECTED = {
    "ModelOrchestrator",
    "get_model_orchestrator",
    "reset_model_orchestrator",
    "BatchProgress",
    "ModelRequest",
    "ModelResponse",
    "ModelType",
    "TaskType",
    "AurelisConfig",
    "get_config",
    "AurelisError",
    "ConfigurationError",
    "AuthenticationError",
    "RateLimitError",
    "AllModelsRateLimitedError",
    "ModelError",
    "AllModelsFailedError",
    "ModelUnavailableError",
    "ModelTimeoutError",
    "ModelResponseError",
    "TransientModelError",
    "PromptTooLongError",
    "is_transient",
}


def test_exported_members_are_exactly_the_public_api() -> None:
    assert set(aurelis.models.__all__) == EXPECTED
    assert len(aurelis.models.__all__) == len(EXPECTED)  # no name listed twice


def test_every_exported_member_is_importable_and_listed_by_dir() -> None:
    namespace: dict[str, object] = {}
    exec(f"from aurelis.models import {', '.join(aurelis.models.__all__)}", namespace)
    assert all(namespace[name] is not None for name in aurelis.models.__all__)
    assert EXPECTED <= set(dir(aurelis.models))


def test_exports_are_the_objects_of_their_home_modules() -> None:
    homes = {
        "ModelOrchestrator": "aurelis.models.orchestrator",
        "get_model_orchestrator": "aurelis.models.orchestrator",
        "BatchProgress": "aurelis.models.batch",
        "get_config": "aurelis.core.config",
        "AurelisConfig": "aurelis.core.config",
        "AllModelsFailedError": "aurelis.core.exceptions",
        "AllModelsRateLimitedError": "aurelis.core.exceptions",
        "ModelType": "aurelis.models.types",
    }
    for name, home in homes.items():
        assert getattr(aurelis.models, name) is getattr(importlib.import_module(home), name)


def test_the_seed_imports_and_the_old_error_paths_keep_working() -> None:
    from aurelis.core.config import get_config
    from aurelis.core.exceptions import AuthenticationError, ModelError
    from aurelis.models.fallback import AllModelsFailedError, AllModelsRateLimitedError

    assert get_config() is aurelis.models.get_config()
    assert AuthenticationError is aurelis.models.AuthenticationError
    assert issubclass(AllModelsFailedError, ModelError)
    assert AllModelsFailedError is aurelis.models.AllModelsFailedError
    assert AllModelsRateLimitedError is aurelis.models.AllModelsRateLimitedError


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        aurelis.models.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("aurelis.models.NoSuchThing should not exist")
