"""The console's cookie: a random session id, nothing else. What a session holds, and when it
ends, is :mod:`gateway.services.platform.sessions`."""

from __future__ import annotations

COOKIE = "gateway_console"
MAX_AGE = 12 * 3600  # the cookie's own lifetime; the session may end much sooner
