"""Aurelis: an AI coding assistant backend (language server + model orchestrator)."""

__version__ = "0.1.0"
