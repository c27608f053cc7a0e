"""The editor's inline path, callable without an editor: the request a completion would
send from a document and cursor (window, retrieval, limits) and the suggestion its answer
becomes (clean-up, quality gates, code shape). `aurelis eval lines` measures through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aurelis.core.config import AurelisConfig
from aurelis.index.languages import grammar_for
from aurelis.index.repo_index import RepoIndex
from aurelis.lsp.context import ContextSources, ProjectCache
from aurelis.lsp.inline.prompt import build_inline_request
from aurelis.lsp.inline.suggestion import local_limits, local_token_counter, suggestion_from
from aurelis.lsp.inline.window import TokenCounter
from aurelis.lsp.live_config import primary_model
from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.lsp.workspace.indexes import WorkspaceIndexes
from aurelis.lsp.workspace.semantic import SemanticRetrieval, embeddings_route
from aurelis.lsp.workspace.workspace_files import WorkspaceRoots
from aurelis.models.types import ModelRequest, ModelResponse, ModelType, TaskType

__all__ = ["InlinePath"]

_INLINE_PROMPT_TOKENS = 1536  # the editor's default inline budget


@dataclass
class InlinePath:
    """Inline requests for files of `root`, with or without the index's retrieval."""

    settings: AurelisConfig
    root: Path
    index: RepoIndex | None
    model: ModelType | None = None

    def __post_init__(self) -> None:
        indexes = None
        if self.index is not None:
            indexes = WorkspaceIndexes()
            indexes.adopt(self.index)
        probe = ModelRequest(prompt="probe", task_type=TaskType.CODE_COMPLETION)
        self.local = (self.model or primary_model(probe)) is ModelType.LOCAL
        #: Retrieval by meaning, as the editor has it: for chat models, when the user
        #: named an embeddings model (`prepare` embeds the repository first).
        self.semantic = self._semantic(indexes) if indexes is not None and not self.local else None
        self._sources = ContextSources(
            WorkspaceRoots([self.root]), list, ProjectCache(), indexes, semantic=self.semantic
        )

    def _semantic(self, indexes: WorkspaceIndexes) -> SemanticRetrieval | None:
        model, embedder = embeddings_route(self.settings, indexing=True)
        if embedder is None:
            return None
        semantic = SemanticRetrieval(indexes)
        semantic.use(model, embedder)
        return semantic

    async def prepare(self) -> None:
        """Embed the repository's chunks when retrieval by meaning is on."""
        if self.semantic is not None:
            await self.semantic.embed_all()

    async def warm(self, relative: str, text: str, offset: int) -> None:
        """What the editor has by the second request on a line: its embedding."""
        if self.semantic is not None:
            await self.semantic.warm(str(self.root / relative), text, offset)

    async def close(self) -> None:
        if self.semantic is not None:
            await self.semantic.stop()

    def builder(self, relative: str) -> Callable[[str, int], ModelRequest | None]:
        path = self.root / relative
        grammar = grammar_for(relative)
        language = grammar.name if grammar else "plaintext"

        def build(text: str, offset: int) -> ModelRequest | None:
            document = DocumentSnapshot(path.as_uri(), str(path), language, None, text)
            local = (
                local_limits(self.settings, typing=False, count_tokens=self._count_tokens())
                if self.local
                else None
            )
            request = build_inline_request(
                document, offset, self._sources, _INLINE_PROMPT_TOKENS, local=local
            )
            if request is not None and self.model is not None:
                request.model_type = self.model
            return request

        return build

    def _count_tokens(self) -> TokenCounter:
        """As the editor counts: the embedded model's tokenizer once it is loaded."""
        from aurelis.lsp.local_model import local_model

        return local_token_counter(local_model())

    def shaper(self, relative: str) -> Callable[[ModelResponse, str, str], str]:
        grammar = grammar_for(relative)
        language = grammar.name if grammar else "plaintext"

        def shape(response: ModelResponse, prefix: str, suffix: str) -> str:
            return suggestion_from(
                response.content,
                prefix,
                suffix,
                language,
                continuation=self.local,
                finish_reason=(response.metadata or {}).get("finish_reason"),
            )

        return shape
