"""The protocol: JSON-RPC framing, transport, the pygls protocol subclass, error replies
and cancellation."""
