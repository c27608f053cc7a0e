"""Model providers: the remote chat-completions client and the embedded local model."""
