"""Editor actions (document, refactor, explain, tests, ...): the catalog, code actions,
commands, and the edits they apply."""
