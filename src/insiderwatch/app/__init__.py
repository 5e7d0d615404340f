"""The application layer: use cases over one :class:`Deployment`, returning contract
records. The command line and the HTTP API are thin adapters over these functions; they
decide no policy of their own.

Every use case opens the deployment's store for its own use, or takes ``store=`` when the
caller holds it open (a server's single writer).
"""

from insiderwatch.app.deployment import Deployment, from_settings, load_deployment
from insiderwatch.app.detect import (
    alert_history,
    analyze_dataset,
    calibrate,
    current_alerts,
    detect,
    detect_step,
)
from insiderwatch.app.ingest import (
    failed,
    ingest_paths,
    ingest_records,
    replay_rejects,
    seal,
)
from insiderwatch.app.investigate import attribute, timeline
from insiderwatch.app.keys import existing_key, ingest_key

__all__ = [
    "Deployment",
    "alert_history",
    "analyze_dataset",
    "attribute",
    "calibrate",
    "current_alerts",
    "detect",
    "detect_step",
    "existing_key",
    "failed",
    "from_settings",
    "ingest_key",
    "ingest_paths",
    "ingest_records",
    "load_deployment",
    "replay_rejects",
    "seal",
    "timeline",
]
