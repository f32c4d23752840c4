"""Outbound routes: dial patterns of one destination class → an ordered list of trunks; every tenant's
undeletable emergency route."""
