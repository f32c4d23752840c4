"""Credentials: password hashing, API key material, secret encryption, rate limiting and login guards."""
