"""The gateway: a privacy-preserving data exchange hub between ministries.

Layers (imports only point downwards):

* ``gateway.domain``  catalogue, policy evaluation, CPR rules, extract states (no I/O)
* ``gateway.crypto``  key hierarchy, pseudonyms, envelope encryption, tokens
* ``gateway.audit``   audit events, the Merkle log, checkpoints and their verification
* ``gateway.dataplane`` columnar ingest, linking and synthetic data (Arrow)
* ``gateway.services`` use cases: who may do what, with one audit entry per change
* ``gateway.storage`` SQLAlchemy and blob implementations of the service ports
* ``gateway.api`` / ``gateway.cli`` thin HTTP and command-line fronts
"""

__version__ = "0.1.0"
