"""The workspace: LSP positions, text buffers, the document store, document snapshots and
the files of each root."""
