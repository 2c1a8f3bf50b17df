"""Use cases: each names its actor, checks permissions and policy, and writes its audit entry
in the same transaction as the change it records. The fronts (api, console, cli) call them
and nothing below them.

One subpackage per bounded context, each over the ones it stands on (never back; the import
rules in ``pyproject.toml`` say so and ``tests/unit/test_import_rules.py`` checks it):

* :mod:`~gateway.services.deliveries` and :mod:`~gateway.services.releases`, side by side;
* :mod:`~gateway.services.platform`: start-up, keys, sealed blobs, sessions, the sweep;
* :mod:`~gateway.services.audit`: the audit trail and those who check it;
* :mod:`~gateway.services.context`: the services' view of the running gateway.
"""
