"""Everything that keeps secrets out of prompts, logs, caches and errors, in one place.

`redaction` is the entry point (`redact`, `register_secret`); `patterns` holds the fixed
token shapes, `assignments` the values named like secrets, `detector` the optional
entropy-based scan, and `files` the files that are secrets by nature.
"""
