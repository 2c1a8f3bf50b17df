"""Storage limitation (GDPR art. 5(1)(e)): what the hub keeps, until when and why, and the
erasure of what is due, provably.

Actors: the gateway itself (the sweep, in every server process's background work), operators
(a sweep now), auditors and the DPO (the plan, legal holds, erasures, recipients' deletions,
the records of processing), recipients (confirming their own deletions).

* :mod:`.plan`: every delivery and release with the day its retention rule lets it go;
* :mod:`.erasure`: the sweep: crypto-shredding what is due, one audit entry per erasure;
* :mod:`.holds`: legal holds, placed by one person and lifted by two;
* :mod:`.deletions`: recipients' confirmations that they deleted their copies;
* :mod:`.records`: the records of processing (art. 30), generated, exported and frozen.
"""
