"""Releases: what leaves the hub, and only as sanctioned.

Actors: a recipient (the ministry's analysts, ``recipient`` role) requests specifications,
runs its approved ones, pulls its own releases and runs the built-in reports; an approver
(a person of another unit) decides specifications and reviews held aggregates; auditors read.

* :mod:`.extracts`: request (policy decision), four-eyes approval, run, pull;
* :mod:`.aggregates`: compute an aggregate, protect and check it for disclosure against the
  ledger, release it, hold it for review or refuse it;
* :mod:`.reviews`: the review of held aggregates (sealed, independent votes);
* :mod:`.reports`: the built-in reports, approved once as reviewed policy files.
"""
