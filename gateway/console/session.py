"""The console's cookie: a random session id, nothing else. What a session holds, and when it
ends, is :mod:`gateway.services.console_sessions`; the sealing key is derived from the master
key (``Labels.CONSOLE_SESSION``, keys/README.md)."""

from __future__ import annotations

from gateway.crypto.keys import Labels

COOKIE = "gateway_console"
LABEL = Labels.CONSOLE_SESSION  # HKDF label of the key that seals a session's state
MAX_AGE = 12 * 3600  # the cookie's own lifetime; the session may end much sooner
