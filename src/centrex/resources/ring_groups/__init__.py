"""Ring groups (hunt lists): ring extensions and outside numbers by a strategy; no answer → a destination."""
