"""Checking each settings layer on its own, and loading around a broken one.

The merged config only shows the winning value of each key: an invalid value in the
project file passed `config check` when the environment set the same key. And one broken
layer (a binary config file, non-JSON `AURELIS_DEPLOYMENTS`) used to take every other
layer down with it. Here each layer (user file, project file, environment) is validated
alone, and the language server loads the layers that are fine and reports the others.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from aurelis.core.config import AurelisConfig
from aurelis.core.config_files import (
    ALL_LAYERS,
    IGNORED_SETTINGS,
    SELECTED_LAYERS,
    project_config_path,
    project_root,
    user_config_path,
)
from aurelis.core.exceptions import ConfigurationError

__all__ = ["LayerProblem", "layer_problems", "load_config_tolerant"]

_LAYER_ORDER = ("user", "project", "env")
_MAX_ROUNDS = 8  # each round leaves out one more bad value per layer


@dataclass(frozen=True)
class LayerProblem:
    """What is wrong with one layer; `error.message` names the file or the environment."""

    layer: str
    error: ConfigurationError


def layer_problems() -> list[LayerProblem]:
    """Every layer validated alone, lowest precedence first (its first problem each)."""
    found = []
    for layer in _LAYER_ORDER:
        error = _layer_error(layer)
        if error is not None:
            found.append(LayerProblem(layer, error))
    return found


def load_config_tolerant() -> tuple[AurelisConfig, list[ConfigurationError]]:
    """The config without what is broken, and what was left out.

    A bad value is left out of its layer alone (the rest of that layer still applies); a
    layer that cannot be read at all (a binary file) is left out whole.
    """
    try:
        return AurelisConfig(), []
    except ConfigurationError as error:
        first = error
    errors: list[ConfigurationError] = []
    dropped: set[str] = set()
    ignored: set[tuple[str, str]] = set()
    for _ in range(_MAX_ROUNDS):
        with _loading(ALL_LAYERS, ignored):
            problems = [p for p in layer_problems() if p.layer not in dropped]
        if not problems:
            break
        for problem in problems:
            errors.append(problem.error)
            setting = (problem.error.key or "").split(".")[0]
            if setting in AurelisConfig.model_fields:
                ignored.add((problem.layer, setting))
            else:
                dropped.add(problem.layer)
    try:
        with _loading(ALL_LAYERS - dropped, ignored):
            return AurelisConfig(), errors or [first]
    except ConfigurationError:
        return AurelisConfig.defaults(), errors or [first]


@contextlib.contextmanager
def _loading(layers: frozenset[str] | set[str], ignored: set[tuple[str, str]]) -> Iterator[None]:
    layers_token = SELECTED_LAYERS.set(frozenset(layers))
    ignored_token = IGNORED_SETTINGS.set(frozenset(ignored))
    try:
        yield
    finally:
        IGNORED_SETTINGS.reset(ignored_token)
        SELECTED_LAYERS.reset(layers_token)


def _layer_error(layer: str) -> ConfigurationError | None:
    token = SELECTED_LAYERS.set(frozenset({layer}))
    try:
        AurelisConfig()
    except ConfigurationError as error:
        return _located(error, layer)
    finally:
        SELECTED_LAYERS.reset(token)
    return None


def _located(error: ConfigurationError, layer: str) -> ConfigurationError:
    label, path = _where(layer)
    if path is not None and path in error.message:
        return error  # the message names the file already
    where = f"{label} {path}" if path else label
    return ConfigurationError(f"{error.message} (in {where})", key=error.key, hint=error.hint)


def _where(layer: str) -> tuple[str, str | None]:
    if layer == "env":
        return "the environment", None
    if layer == "user":
        return "the user file", str(user_config_path())
    try:
        path = project_config_path(project_root())
    except ConfigurationError:
        path = None
    return "the project file", str(path) if path is not None else None
