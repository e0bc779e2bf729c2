"""Offload waves (seed 000): a session's "memory cloud" pushed into the repository as packets.

Clusters (``.tether/offload/clusters/<name>/``) hold packets, one YAML file each named by its
id: frames (the framing of a theme or wave), blobs (dense payload), links (pointers to repo
paths, URLs, other repositories, artefacts) and terms (glossary entries). Navigation maps
(MAP.md for people, map.yaml for machines) are regenerated on every change, per cluster and
for all clusters. Modules: ``packets`` (a packet as a document: made, checked, written, read),
``schema`` (the published JSON Schema, ``packet.schema.json``), ``links`` (what a link points
at and whether it resolves, inside the repository only), ``maps`` (the maps rendered from map
entries), ``snippets`` (stable index entries for external indexes), and ``api``
(:class:`Offload`, the facade; it alone talks to the store and the per-machine cache).
"""

__all__ = ["Offload"]


def __getattr__(name: str):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'tether.offload' has no attribute {name!r}")
