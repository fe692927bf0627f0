"""Commands that talk to a cluster (filled in as they land)."""
