"""Contacts: names, companies, typed numbers and e-mails in phonebooks; find by number, CSV import and export."""
