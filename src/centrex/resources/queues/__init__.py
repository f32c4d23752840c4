"""Call queues (ACD), their agents and the agents' state (login, logout, pause)."""
