"""Log in / log out (session cookie), who am I, change my password."""
