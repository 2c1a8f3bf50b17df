"""The ``gateway`` command: thin verbs over the services (local) or the HTTP API (client)."""
