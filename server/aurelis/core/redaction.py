"""The old import path of `redact`, for the two modules not yet moved to `aurelis.core.secrets`.

`lsp/status.py` and `cli/doctor.py` import `redact` from here; both are being rewritten
alongside the local-model worker. When they import `aurelis.core.secrets`, delete this
module: nothing else may use it (`tests/unit/test_layers.py` checks).
"""

from __future__ import annotations

from aurelis.core.secrets import redact

__all__ = ["redact"]
