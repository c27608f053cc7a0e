"""What became of inline suggestions: counted per model, task, language and dialect, kept
in the user's data directory and, with `redis_url` set, in Redis for the whole team.

Only counts and lengths are kept, never prompt or completion text. The parts: `counts`
(the counters and the rows read from them), `local_file` (this machine's day files),
`team` (Redis), `ledger` (the buffered writer the language server uses) and `report`
(what the command line reads). This package file imports none of them: the language
server loads the light `counts` at start-up and the rest on first use.
"""
