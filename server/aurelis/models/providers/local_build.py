"""Which llama-cpp-python build Aurelis runs on, and what that build contains.

The version is pinned here (scripts/install_llama.sh reads it) because the build's safety
was checked for this version: later llama.cpp releases change their CPU-feature options.
"""

from __future__ import annotations

__all__ = ["LLAMA_CPP_PYTHON_VERSION", "UNSAFE_FEATURES", "compiled_features"]

LLAMA_CPP_PYTHON_VERSION = "0.3.36"

#: CPU features a build must not contain: a VM can advertise them without letting a
#: process use them, and llama.cpp then crashes in decode (SIGSEGV or SIGILL).
UNSAFE_FEATURES = ("AMX_INT8", "AMX_BF16", "AMX_TILE", "AMX")


def compiled_features(system_info: str) -> list[str]:
    """The CPU features a build reports as on, from `llama_print_system_info()`:
    "CPU : SSE3 = 1 | AVX = 1 | AMX_INT8 = 0 | ..." gives ["SSE3", "AVX"]."""
    features: list[str] = []
    for part in system_info.replace("\n", "|").split("|"):
        name, _, value = part.rpartition("=")
        name = name.split(":")[-1].strip()
        if name and value.strip() == "1":
            features.append(name)
    return features
