"""The HTTP layer: thin handlers that translate REST calls into one service call each."""
