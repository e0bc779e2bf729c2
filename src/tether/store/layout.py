"""Where every file of a workspace lives: the one place that names them.

Paths are relative to the store directory (``.tether/``) and "/"-separated,
as the trees take them. Only the store package imports this module; the rest
of tether asks the store (or, for the per-machine caches, ``CACHE_DIR``).
"""

from __future__ import annotations

STORE_DIR = ".tether"  # at the repository root

CONFIG = "tether.toml"
MANIFEST = "index.json"
CONTEXT_DOCUMENT = "CONTEXT.md"  # the default; tether.toml's context.document may move it
CONTEXT_ENTRIES = "context.jsonl"
EVENT_LOG = "memory/events.jsonl"
PROGRESS = "progress"
LATEST = "progress/LATEST.json"
TASKS = "tasks"
OPEN = "open"
DECISIONS = "decisions"
CONTEXTS = "contexts"  # campaign session contexts (tether ctx), one folder each
CONTEXT_FILE = "session_context.yaml"  # in each
PRIME = "PRIME.md"  # replaces or extends the brief's teaching section (core.teach)
GITIGNORE = ".gitignore"
GITATTRIBUTES = ".gitattributes"
JOURNAL = "checkpoints.jsonl"  # in each task's folder
# Compaction (seed 001's cache/): what compaction took out of a context, committed so it can be given
# back on any clone. Files are named by the SHA-256 of their bytes, so they are never edited and two
# branches that offload the same content write the same file.
CACHE = "cache"
OFFLOADED = "cache/offloaded"  # tool results and inputs (tiers 1 and 2)
CONVERSATIONS = "cache/conversations"  # whole message lists archived by tier 3
PINS = "memory/pins.jsonl"  # keep-hints: {"pin": id, "text", "at"} and {"unpin": id, "at"}
COMPACTIONS = "memory/compactions.jsonl"  # one report per compaction: tokens before and after each tier

# Offload waves (seed 000): clusters of packets, one YAML file per packet named by its id, so two
# branches that each add packets merge without conflicts. Each cluster folder also holds its
# cluster.yaml and its navigation maps (MAP.md for people, map.yaml for machines); the maps of
# all clusters sit at the top of offload/.
OFFLOAD = "offload"
CLUSTERS = "offload/clusters"
CLUSTER_FILE = "cluster.yaml"  # in each cluster's folder
MAP_TEXT = "MAP.md"  # in each cluster's folder, and in offload/ for all clusters
MAP_DATA = "map.yaml"  # likewise
MAPS = (MAP_TEXT, MAP_DATA)
RESERVED = (CLUSTER_FILE, MAP_TEXT, MAP_DATA)  # names in a cluster's folder that are not packets

# Per-machine and derived: git-ignored, never in the manifest, never compared with HEAD.
LOCKS = "locks"
CACHE_DIR = "local"
UNTRACKED = (f"{LOCKS}/", f"{CACHE_DIR}/")
ACTIVE = f"{CACHE_DIR}/active"  # the task this machine works on
TORN = f"{CACHE_DIR}/torn"  # torn last lines of the logs, set aside (store.appendlog)
# What hooks saw of each session (starts, ends, compactions, the transcript's path): per machine,
# so a session start never dirties the working tree; `tether close` folds it into the memory log.
SESSION_LOG = f"{CACHE_DIR}/sessions.jsonl"
# The tool calls of each session since its task's last checkpoint (hooks.claude_code, PostToolUse):
# per machine, a few lines each, until an automatic checkpoint takes them.
TRAILS = f"{CACHE_DIR}/trails"
# The context state each session was last seen in (the UserPromptSubmit hook warns once per change).
CONTEXT_STATES = f"{CACHE_DIR}/context-state"
STATUS_LINE_CACHE = f"{CACHE_DIR}/statusline.cache"  # the active task's position, for `tether statusline`
OFFLOAD_CACHE = f"{CACHE_DIR}/offload"  # per cluster: its packets' map entries by file stat
# The last `tether audit`'s findings (rule, path, line, one line each), for the next boot's brief.
AUDIT_RESULT = f"{CACHE_DIR}/audit.json"
# The paths of the store tether wrote, noted before each write (store.written), and what the audit
# last learnt from git about which of the store's files differ from the commit (warm.status).
WRITTEN = f"{CACHE_DIR}/written"
STATUS_CACHE = f"{CACHE_DIR}/status.cache"
# The recall index (tether.recall): SQLite FTS5 over the files below, derived from them and rebuilt when gone.
RECALL_INDEX = f"{CACHE_DIR}/recall.sqlite"
DEVICE = f"{CACHE_DIR}/device"  # the label this machine's checkpoints carry (seed 001's Device), set by the user

# Rewritten whole by every close; merged by meaning (gitio.mergedriver), repaired by `index --repair`.
GENERATED = (LATEST, CONTEXT_DOCUMENT, MANIFEST)
# Folders `tether init` creates.
FOLDERS = (TASKS, OPEN, DECISIONS, PROGRESS, "memory")

GITIGNORE_TEXT = f"# Per-machine and derived files: never committed.\n{LOCKS}/\n{CACHE_DIR}/\n*.tmp\n"
# Campaign session contexts: merged by meaning (campaign.clones) by the same driver.
CONTEXTS_ATTRIBUTE = f"/{CONTEXTS}/*/{CONTEXT_FILE} merge=tether"
GITATTRIBUTES_TEXT = (
    "# Append-only logs: a merge keeps the lines of both sides instead of conflicting.\n"
    f"*.jsonl merge=union\n{PROGRESS}/*.md merge=union\n"
    "# Compaction's cache: files named by the hash of their bytes, never converted (line endings).\n"
    f"/{CACHE}/** -text\n"
    "# Generated files: merged by meaning with tether's merge driver (`tether init` registers it).\n"
    + "".join(f"/{rel} merge=tether\n" for rel in GENERATED)
    # The offload maps keep our side; the next offload command (or `tether index --repair`) rewrites them.
    + "".join(f"/{OFFLOAD}/**/{name} merge=tether\n" for name in MAPS)
    + "# Campaign session contexts (tether ctx): two clones' changes merged by meaning, real conflicts left.\n"
    + f"{CONTEXTS_ATTRIBUTE}\n"
)


def task_dir(task_id: str) -> str:
    return f"{TASKS}/{task_id}"


def task_file(task_id: str) -> str:
    return f"{TASKS}/{task_id}/task.md"


def checkpoints_dir(task_id: str) -> str:
    return f"{TASKS}/{task_id}/checkpoints"


def checkpoint_file(task_id: str, name: str) -> str:
    return f"{TASKS}/{task_id}/checkpoints/{name}.md"


def journal(task_id: str) -> str:
    return f"{TASKS}/{task_id}/{JOURNAL}"


def result_file(task_id: str, name: str) -> str:
    return f"{TASKS}/{task_id}/intermediate/{name}"


def trail_file(session: str) -> str:
    """A session's tool-call trail; ids that are not plain names (Claude Code's are UUIDs) are hashed."""
    if not session or len(session) > 100 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in session) \
            or session.startswith("."):
        import hashlib

        session = "h-" + hashlib.sha256(session.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{TRAILS}/{session}.jsonl"


def open_marker(task_id: str) -> str:
    return f"{OPEN}/{task_id}"


def decision_file(decision_id: str) -> str:
    return f"{DECISIONS}/{decision_id}.md"


def progress_file(date: str) -> str:
    return f"{PROGRESS}/{date}.md"


def cached_file(kind: str, digest: str) -> str:
    """A content-addressed file: ``kind`` is "offloaded" or "conversations"."""
    return f"{CACHE}/{kind}/{digest}"


def cluster_dir(cluster: str) -> str:
    return f"{CLUSTERS}/{cluster}"


def cluster_file(cluster: str) -> str:
    return f"{CLUSTERS}/{cluster}/{CLUSTER_FILE}"


def packet_file(cluster: str, packet_id: str) -> str:
    return f"{CLUSTERS}/{cluster}/{packet_id}.yaml"


def offload_map(cluster: str | None, name: str) -> str:
    """A navigation map: ``name`` (MAP_TEXT or MAP_DATA) of one cluster, or of all (None)."""
    return f"{CLUSTERS}/{cluster}/{name}" if cluster else f"{OFFLOAD}/{name}"


def offload_cache(cluster: str) -> str:
    return f"{OFFLOAD_CACHE}/{cluster}.cache"


def is_offload_map(path: str) -> bool:
    """Whether a repository path is one of the offload maps (the merge driver keeps our side)."""
    path = path.replace("\\", "/")
    return f"/{OFFLOAD}/" in f"/{path}" and path.rsplit("/", 1)[-1] in MAPS


# What recall indexes, by the kind of record each file holds (recall_kind); folders whose files are
# written once and never edited, so an unchanged folder stat means unchanged files (recall_frozen).
RECALL_TOPS = (TASKS, DECISIONS, PROGRESS, CONTEXTS, OFFLOAD, CACHE, CONTEXT_ENTRIES)
# The big subtree recall may leave unwalked while the file every tether write to it appends to
# (a task started, completed or checkpointed: the memory log) is unchanged.
RECALL_SKIPPABLE = (TASKS, EVENT_LOG)
# What changes when anything recall reads is written by tether: the logs it appends to, and the
# folders (with, for the two given last, their subfolders) that gain or replace a file.
RECALL_WITNESSES = (EVENT_LOG, CONTEXT_ENTRIES, DECISIONS, PROGRESS, f"{CACHE}/offloaded", f"{CACHE}/conversations",
                    CONTEXTS, f"{OFFLOAD}/clusters")
_FROZEN = ("checkpoints", "decisions", "cache/offloaded", "cache/conversations")


def recall_kind(rel: str) -> str | None:
    """The kind of record a store path holds for recall, None when recall leaves it out."""
    parts = rel.split("/")
    top, depth = parts[0], len(parts)
    if top == TASKS:
        if depth == 3 and parts[2] == "task.md":
            return "task"
        if depth == 4 and parts[2] == "checkpoints" and parts[3].endswith(".md"):
            return "checkpoint"
    elif top == DECISIONS:
        return "decision" if depth == 2 and rel.endswith(".md") else None
    elif rel == CONTEXT_ENTRIES:
        return "context"
    elif top == PROGRESS:
        return "progress" if depth == 2 and rel.endswith(".md") else None
    elif top == CONTEXTS:
        return "campaign" if rel.endswith(".yaml") and parts[-1] != "roles.yaml" else None
    elif top == OFFLOAD:
        if depth == 4 and parts[1] == "clusters" and parts[3].endswith(".yaml") and parts[3] not in RESERVED:
            return "packet"
    elif top == CACHE and depth == 3:
        return {"offloaded": "offloaded", "conversations": "conversation"}.get(parts[1])
    return None


def recall_frozen(rel_dir: str) -> bool:
    return rel_dir.endswith(_FROZEN[:2]) or rel_dir in _FROZEN[2:]


def lock_file(name: str) -> str:
    return f"{LOCKS}/{name}.lock"


def tracked(rel: str) -> bool:
    """Whether a store path is part of the committed state (not per-machine)."""
    return not rel.startswith(UNTRACKED)


def watched(list_dir) -> tuple[list[str], list[str]]:
    """The folders and files whose stat ``tether audit`` compares with its last look to see what
    tether did not write itself (warm.status): the store's top two levels of folders, the files
    at its top and in memory/, the open tasks' folders and their own files, the session
    contexts' and the offload clusters' folders and their fixed files. Not the history
    (checkpoints, decisions, progress days, completed tasks, the cache, packets): their number
    grows with it. ``list_dir(rel)``: (file names, folder names) of a folder ("" the store).
    """
    dirs, files = [""], []
    top_files, top_dirs = list_dir("")
    files += [name for name in top_files if not name.endswith(".tmp")]
    for top in top_dirs:
        if f"{top}/" in UNTRACKED:
            continue
        dirs.append(top)
        if top == TASKS:
            continue  # ten thousand folders: only the open tasks' below
        names, subdirs = list_dir(top)
        if top == "memory":
            files += [f"{top}/{name}" for name in names]
        dirs += [f"{top}/{sub}" for sub in subdirs]
    if "progress" in top_dirs:
        files.append(LATEST)
    for task_id in list_dir(OPEN)[0]:
        folder = task_dir(task_id)
        names, subdirs = list_dir(folder)
        dirs.append(folder)
        dirs += [f"{folder}/{sub}" for sub in subdirs]
        files += [f"{folder}/{name}" for name in names]
    for parent, fixed in ((CONTEXTS, (CONTEXT_FILE,)), (CLUSTERS, RESERVED)):
        for sub in list_dir(parent)[1]:
            folder = f"{parent}/{sub}"
            dirs.append(folder)
            files += [f"{folder}/{name}" for name in fixed]
    if OFFLOAD in top_dirs:
        files += [f"{OFFLOAD}/{name}" for name in MAPS]
    return sorted(set(dirs)), sorted(set(files))
