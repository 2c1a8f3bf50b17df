"""The audit trail: what the log proves and who may read it.

Actors: anyone (checkpoints, tiles and proofs; entries only about one's own objects),
auditors and the DPO (search, subject lookups, verification, export), other organisations
(witnesses, monitors) and the gateway itself (cosignatures, the subject index).

* :mod:`.trail`: proofs, receipts, search, verification, export;
* :mod:`.subjects`: every entry about one person (GDPR art. 15), by CPR in memory only;
* :mod:`.filters`: how people name parts of the trail (categories, relative ranges);
* :mod:`.witnessing`: the log's checkpoints cosigned by its witnesses;
* :mod:`.subject_indexer`: large entries' persons into the lookup index, in the background;
* :mod:`.transparency`: what outsiders do with the public material alone.
"""
