"""Identity: who is calling. Principals (organisation + person or machine client + roles), the
verification of bearer tokens from trusted OpenID providers (discovery, JWKS, claim mapping),
the CLI's own token acquisition, and the development provider the demo and the tests run.

Nothing here imports the web framework or the database: the domain core and the services
take a :class:`~gateway.domain.principals.Principal` and never see a token.
"""
