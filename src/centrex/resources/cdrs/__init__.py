"""Call detail records (read-only): list with filters, one record, CSV export, missed calls per extension."""
