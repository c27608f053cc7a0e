"""Cross-cutting pieces: configuration, exceptions, logging and redaction."""
