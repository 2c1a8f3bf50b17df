"""Deliveries: what data owners send and the hub keeps.

Actors: a source (its organisation's scripts, ``source`` role) pushes, confirms and withdraws
its own deliveries; approvers and auditors read any delivery and its quality report.

* :mod:`.ingest`: push a delivery (validate, pseudonymise, seal, record, receipt);
* :mod:`.uploads`: the body as ingestion reads it, spooled sealed while it arrives;
* :mod:`.versions`: the audited changes of a month's versions (confirm, reinstate, withdraw);
* :mod:`.reads`: a delivery, its status and month, its quality, the months a spec reads;
* :mod:`.synthetic`: synthetic deliveries for demos, tests and benchmarks.
"""
