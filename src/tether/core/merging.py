"""The merge driver's domain side: the context document's blocks from the records a merge leaves.

git merges the records file by file (each task and decision is its own file, the logs merge by
union) and runs tether's driver for the context document before it writes any of them: the
work tree still holds our side. So the driver reads the store the merge will leave from the
merge's three commits (store.trees.MergeTree) and regenerates the blocks from it, as a
`tether close` right after the merge would: the tasks, decisions and entries of both sides.
"""

from __future__ import annotations


def merge_driver(base_file: str, ours_file: str, theirs_file: str, path: str, marker_size: int = 7):
    """`tether merge-driver`: gitio.mergedriver.run, with the blocks regenerated from the merged records."""
    from ..gitio.mergedriver import run

    return run(base_file, ours_file, theirs_file, path, marker_size, regenerate=merged_blocks,
               contexts=session_context_merge(path))


def session_context_merge(path: str):
    """The session context's merge by meaning (campaign.clones) as gitio calls it: (data or None,
    clean, the conflicts or why it could not merge)."""
    def merge(base: bytes, ours: bytes, theirs: bytes, marker_size: int = 7):
        from ..campaign import Campaign

        merged = Campaign.merge_versions(base, ours, theirs, path, marker_size)
        return merged.data, merged.clean, merged.problem if merged.data is None else merged.conflicts
    return merge


def merged_blocks(root: str, commits: tuple[str, str, str]) -> dict[str, str]:
    """The blocks the records give once the merge of ``commits`` (base, ours, theirs) is done.
    The "_Updated" line is left to the caller (semantic_merge keeps the newer side's)."""
    import os

    from .close import document_blocks
    from ..errors import TetherError
    from ..gitio.mergedriver import merged_file
    from ..model.config import Config
    from ..store import layout
    from ..store.config_file import parse
    from ..store.files import Store
    from ..store.locate import STORE_DIR
    from ..store.trees import DirTree, MergeTree

    here = Store(DirTree(os.path.join(root, STORE_DIR)), label=STORE_DIR, repo_root=root)
    tree = MergeTree(root, commits, STORE_DIR,
                     lambda rel, base, ours, theirs: merged_file(root, f"{STORE_DIR}/{rel}", base, ours, theirs,
                                                                 session_context_merge(f"{STORE_DIR}/{rel}")))
    try:
        merged = Store(tree, label=STORE_DIR, repo_root=root)
        config = None
        for store in (merged, here):  # the merged tether.toml; ours if it does not read
            try:
                config = parse(store.read_config(), store.shown(layout.CONFIG))
                break
            except TetherError:
                continue
        # The active task is this machine's (never committed): the one it works on after the merge.
        return document_blocks(merged, config or Config(), active=here.active_task(), updated="", session="")
    finally:
        tree.close()
