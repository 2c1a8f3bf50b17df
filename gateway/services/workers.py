"""The background work of a server process, composed from every context: the sweep that cleans
what crashed work left behind (:mod:`gateway.services.platform.janitor`), the subject indexer
that moves large deliveries' persons into the lookup index
(:mod:`gateway.services.audit.subject_indexer`), the witnesses' client
(:mod:`gateway.services.audit.witnessing`) and the retention sweep
(:mod:`gateway.services.retention.erasure`).

A front starts them when it serves and stops them when it stops; it knows them by this one
object, not by their parts.
"""

from __future__ import annotations

from gateway.services.audit.subject_indexer import SubjectIndexer
from gateway.services.audit.witnessing import Witnessing
from gateway.services.platform.bootstrap import Runtime
from gateway.services.platform.janitor import Janitor
from gateway.services.retention.erasure import Sweeper


class Workers:
    def __init__(self, runtime: Runtime) -> None:
        ctx = runtime.context
        self.indexer = SubjectIndexer(runtime.store)
        self.janitor = Janitor(
            ctx.store,
            ctx.blobs,
            ctx.work,
            runtime.settings.sweep_interval_seconds,
            spark_dir=ctx.engines.work_dir,
        )
        self.witnessing = ctx.witnessing if isinstance(ctx.witnessing, Witnessing) else None
        self.retention = Sweeper(ctx, runtime.settings.retention_interval_seconds)

    def sweep_once(self) -> None:
        """What a crash left behind, removed (and said) before serving."""
        self.janitor.sweep_once()

    def start(self) -> None:
        self.indexer.start()
        self.janitor.start()
        self.retention.start()
        if self.witnessing is not None:
            self.witnessing.start()  # checkpoints to the witnesses, cosignatures back

    def stop(self) -> None:
        self.retention.stop()
        self.janitor.stop()
        self.indexer.stop()

    def deliveries_arrived(self) -> None:
        """New deliveries were recorded: index their persons now, not at the next interval."""
        self.indexer.poke()
