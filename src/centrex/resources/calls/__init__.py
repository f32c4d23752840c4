"""Live calls and extension states (docs/live.md)."""
