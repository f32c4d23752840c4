"""SIP registrations of a tenant's extensions (read and unregister); the engine's registrar writes them."""
