"""Phonebooks (contact sources): company-wide or personal to one user; CSV import of contacts."""
