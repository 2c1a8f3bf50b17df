"""The platform: what every context stands on, and the running process itself.

Actors: operators (``operator`` role, or the installation's own terminal) and the gateway
itself (start-up, background work).

* :mod:`.bootstrap`: start-up, the composition root (policies, keys, database, witnesses);
* :mod:`.workers`: the background work of a server process;
* :mod:`.installation`: key folder, log key, schema upgrade, the demo's database;
* :mod:`.keys`: key rotation; :mod:`.sealed`: reading and writing sealed blobs;
* :mod:`.sessions`: the console's server-side sessions; :mod:`.janitor`: the sweep;
* :mod:`.health`: readiness and operators' figures; :mod:`.faults`: what a failure means.
"""
