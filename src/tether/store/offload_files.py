"""The store's offload files: clusters, their packets and their navigation maps (seed 000).

A mixin of :class:`tether.store.files.Store`, which gives it ``tree``, ``shown``, ``report``,
``read_record``, ``_list`` and ``_writable``. A packet is one YAML file named by its id in its
cluster's folder, created exclusively (an id is never reused, two branches never write the
same file); a retired packet is rewritten in place with its status, never removed.
"""

from __future__ import annotations

import os

from ..errors import Conflict
from ..model import ids
from . import layout

PACKET_SUFFIX = ".yaml"


class OffloadFiles:
    # -- clusters ------------------------------------------------------------------------
    def offload_clusters(self) -> list[str]:
        """Cluster names, sorted: the folders under offload/clusters/ with a valid name."""
        return sorted(name for name in self._list(layout.CLUSTERS)
                      if ids.valid_id(name) and self._is_folder(layout.cluster_dir(name)))

    def _is_folder(self, rel: str) -> bool:
        directory = self.tree.directory
        if directory is not None:
            return os.path.isdir(f"{directory}/{rel}") and not os.path.islink(f"{directory}/{rel}")
        return self.tree.read(rel) is None

    def has_cluster(self, cluster: str) -> bool:
        return self.tree.exists(layout.cluster_file(cluster)) or self.tree.exists(layout.cluster_dir(cluster))

    def create_cluster(self, cluster: str, data: bytes) -> bool:
        """Write the cluster's cluster.yaml; False when the cluster exists already."""
        self._writable()
        return self.tree.create(layout.cluster_file(cluster), data)

    def read_cluster(self, cluster: str) -> bytes | None:
        return self.read_record(layout.cluster_file(cluster))

    def cluster_path(self, cluster: str) -> str:
        return self.shown(layout.cluster_file(cluster))

    def cluster_key(self, cluster: str) -> tuple | None:
        """The cluster folder's stat: it changes when a packet file is added, removed or replaced."""
        return self.tree.stat_key(layout.cluster_dir(cluster))

    # -- packets ---------------------------------------------------------------------------
    def packet_ids(self, cluster: str) -> list[str]:
        """The ids of the packets in a cluster, sorted (ids sort by creation)."""
        out = []
        for name in self._list(layout.cluster_dir(cluster)):
            if name.endswith(PACKET_SUFFIX) and name not in layout.RESERVED:
                stem = name[: -len(PACKET_SUFFIX)]
                if ids.valid_id(stem):
                    out.append(stem)
        return sorted(out)

    def offload_strays(self, cluster: str) -> list[str]:
        """Shown paths of what sits in a cluster's folder without being a packet or one of its files."""
        known = set(layout.RESERVED) | {f"{i}{PACKET_SUFFIX}" for i in self.packet_ids(cluster)}
        return [self.shown(f"{layout.cluster_dir(cluster)}/{name}") for name in self._list(layout.cluster_dir(cluster))
                if name not in known and not name.startswith(".")]

    def find_packet(self, packet_id: str) -> str | None:
        """The cluster holding a packet, None when none does."""
        if not ids.valid_id(packet_id):
            return None
        for cluster in self.offload_clusters():
            if self.tree.exists(layout.packet_file(cluster, packet_id)):
                return cluster
        return None

    def read_packet(self, cluster: str, packet_id: str) -> bytes | None:
        return self.read_record(layout.packet_file(cluster, packet_id))

    def packet_key(self, cluster: str, packet_id: str) -> tuple | None:
        return self.tree.stat_key(layout.packet_file(cluster, packet_id))

    def create_packet(self, cluster: str, packet_id: str, data: bytes) -> str:
        """Write a new packet; Conflict when the id is taken (never overwritten). Its shown path."""
        self._writable()
        rel = layout.packet_file(cluster, packet_id)
        if not self.tree.create(rel, data):
            raise Conflict(f"packet {packet_id} exists already in {cluster}", hint="run the command again (a new id)")
        return self.shown(rel)

    def replace_packet(self, cluster: str, packet_id: str, data: bytes) -> str:
        self._writable()
        rel = layout.packet_file(cluster, packet_id)
        self.tree.write(rel, data)
        return self.shown(rel)

    def packet_path(self, cluster: str, packet_id: str) -> str:
        return self.shown(layout.packet_file(cluster, packet_id))

    # -- navigation maps --------------------------------------------------------------------
    def map_paths(self, cluster: str | None) -> tuple[str, str]:
        """(MAP.md, map.yaml) of a cluster, or of all clusters (None), as shown."""
        return tuple(self.shown(layout.offload_map(cluster, name)) for name in layout.MAPS)  # type: ignore[return-value]

    def read_map(self, cluster: str | None, name: str) -> bytes | None:
        """``name``: "text" (MAP.md) or "data" (map.yaml)."""
        return self.tree.peek(layout.offload_map(cluster, _map_name(name)))

    def map_key(self, cluster: str | None, name: str) -> tuple | None:
        return self.tree.stat_key(layout.offload_map(cluster, _map_name(name)))

    def write_map(self, cluster: str | None, name: str, data: bytes) -> None:
        self._writable()
        self.tree.write(layout.offload_map(cluster, _map_name(name)), data)

    def append_map(self, cluster: str | None, name: str, text: str) -> None:
        """Add lines at the end of a map (a packet newer than every other one). Not forced to disk: a
        map is derived, and one a crash left short no longer has the stat the offload cache
        recorded, so the next offload command renders it again."""
        self._writable()
        self.tree.append(layout.offload_map(cluster, _map_name(name)), text, durable=False)

    # -- the per-machine cache of map entries ---------------------------------------------------
    def offload_cache_file(self, cluster: str) -> str | None:
        """Where this machine keeps a cluster's map entries (an absolute path); None off disk."""
        directory = self.tree.directory
        return f"{directory}/{layout.offload_cache(cluster)}" if directory is not None else None


def _map_name(name: str) -> str:
    return layout.MAP_TEXT if name == "text" else layout.MAP_DATA
