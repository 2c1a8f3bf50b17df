"""The web console for legal staff and the DPO: server-rendered pages under ``/console`` on the
same services as the API (every action audited the same way), people logged in through the
identity provider (authorization code with PKCE), sealed session cookies, CSRF tokens on every
form, and a content security policy that allows no inline script. Every asset is served by the
gateway (closed networks have no CDN)."""
