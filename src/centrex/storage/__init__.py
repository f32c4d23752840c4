"""Storage outside the database: the content-addressed blob store for audio."""
