"""OCSF 1.x input: data-access events (API, Datastore, Web Resources, File Activity).

OCSF is JSON, so this kind is the mapped source with a shipped mapping
(``mappings/ocsf.yaml``); ``--mapping`` replaces it for producers that name customers
in other fields. Events of other classes or activities are counted as ``filtered``.
"""

from __future__ import annotations

import dataclasses

from insiderwatch.sources.kinds import SourceOptions
from insiderwatch.sources.mapped import MappedSource
from insiderwatch.sources.mapping import shipped_mappings


class OcsfSource(MappedSource):
    kind = "ocsf"
    description = "OCSF 1.x data-access events (JSON Lines); --mapping overrides the default."

    def __init__(self, options: SourceOptions | None = None) -> None:
        options = options or SourceOptions()
        if options.mapping is None:
            options = dataclasses.replace(options, mapping=shipped_mappings()["ocsf"])
        super().__init__(options)
