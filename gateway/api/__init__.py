"""The HTTP front: thin routers over the services; errors become problem+json in one place."""
