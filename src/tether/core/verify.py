"""Read every state file and report each problem: ``tether verify``.

Boot and the other commands read only what they need (the open tasks, each one's
newest checkpoint, the memory log's last lines), so a damaged closed task, an old
checkpoint or a torn journal line goes unnoticed until something reads it. verify
reads all of it, as ``git fsck`` does for git's objects: for CI, a pre-commit hook,
or after a merge or a crash. It never changes a file. It also names every symbolic
link in the store: tether follows none (see store.fsio), so what one stands for is never read.
"""

from __future__ import annotations

from ..errors import ParseError, Problem
from ..model import ids
from ..model.record import Record
from ..store.files import Store


class Verification(Record):
    # torn: "path:line" of each log whose last line was torn (a writer stopped mid-append): the next
    # write to that log, or `tether index --repair`, sets it aside.
    # sections: the context document's generated sections that disagree with the records (`tether
    # index --repair` regenerates them); notices: what to set up in this clone, no problem of the files.
    FIELDS = {"files": 0, "problems": list, "torn": list, "sections": list, "notices": list}

    def to_dict(self) -> dict:
        return {"files": self.files, "problems": [p.to_dict() for p in self.problems], "torn": self.torn,
                "sections": self.sections, "notices": self.notices}


def verify(store: Store, context_document: str, config_problems: list[Problem] = ()) -> Verification:
    """Every problem in the store's tracked files; ``context_document`` as the config names it, and
    ``config_problems`` what reading the config found (its unknown keys)."""
    with store.collecting() as problems:
        for problem in config_problems:
            store.report(problem)
        links = {shown: Problem(shown, None, f"a symbolic link (to {target}); tether neither reads nor writes"
                                             " through links inside .tether/: replace it with the file or folder"
                                             " itself, or remove it")
                 for shown, target in store.links()}
        if store.label in links:  # the store folder itself: nothing in it is read
            return Verification(files=0, problems=[links[store.label]])
        checked = (_records(store) + _logs(store) + _generated(store, context_document) + _offload(store)
                   + _contexts(store) + store.check_cache())
        # Each link once, with where it points; what the reads said of it (or of what lies
        # behind a linked folder) is the same fact.
        kept = [p for p in problems if not any(p.path == s or p.path.startswith(s + "/") for s in links)]
        return Verification(files=checked, problems=[*links.values(), *kept], torn=store.torn_logs())


def check_document(ws, outcome: Verification) -> None:
    """The context document's generated sections that disagree with the records: after a merge that
    kept one side's (git's text merge, a hosting service's merge, a resolution by hand)."""
    from .close import document_disagrees
    from ..errors import TetherError

    try:
        found = document_disagrees(ws)
    except (TetherError, OSError):
        return  # a document that does not read: the checks of the files name it
    if found:
        from .context_document import disagreement

        problem = Problem(ws.config.context_document, found[0][1], disagreement(found))
        if problem not in outcome.problems:
            outcome.problems.append(problem)
        outcome.sections = [heading for heading, _ in found]


def setup_notices(ws) -> list[str]:
    """What this clone lacks that its files ask for: tether's merge driver in git config."""
    from .brief import DRIVER_MISSING, merge_driver_state
    from ..store import layout

    out = []
    if merge_driver_state(ws.root_dir, ws.store_dir) == "missing":
        out.append(DRIVER_MISSING.format(attributes=ws.store.shown(layout.GITATTRIBUTES)))
    rule = layout.CONTEXTS_ATTRIBUTE
    attributes = (ws.store.read_file(layout.GITATTRIBUTES) or b"").decode("utf-8", "replace").splitlines()
    if rule not in (line.strip() for line in attributes) and ws.store.campaign_contexts():
        out.append(f"{ws.store.shown(layout.GITATTRIBUTES)} has no rule `{rule}` (a workspace made by an older"
                   " tether), so a merge of two clones' changes to a session context conflicts. Run `tether init`"
                   f" once (it adds the rule) and commit {ws.store.shown(layout.GITATTRIBUTES)}.")
    return out


def _attempt(store: Store, load, *args) -> object | None:
    try:
        return load(*args)
    except ParseError as exc:
        store.report(exc.problem)
    return None


def _records(store: Store) -> int:
    """Tasks, their checkpoints and journals, the open markers, the decisions."""
    checked = 0
    for shown in store.strays("tasks"):
        store.report(Problem(shown, None, "not a task id (letters, digits, '.', '_', '-'); tether ignores it"))
    task_ids = store.task_ids()
    open_ids = store.open_task_ids()
    for task_id in task_ids:
        if not store.is_task(task_id):
            store.report(Problem(store.task_path(task_id).rsplit("/", 1)[0], None,
                                 "not a task (no task.md in it); tether ignores it and what it holds"))
            continue
        checked += 1
        task = _attempt(store, store.load_task, task_id)
        for shown in store.strays("checkpoints", task_id):
            store.report(Problem(shown, None, "not a checkpoint's file name (CKP-0001-x7k2mq.md); tether ignores it"))
        for name in store.checkpoint_names(task_id):
            checked += 1
            _attempt(store, store.load_checkpoint, task_id, name)
        checked += store.check_journal(task_id)
        if task is not None and task.status == "open" and task_id not in open_ids:
            store.report(Problem(store.task_path(task_id), None,
                                 "the task is open but has no open/ marker, so boot does not list it; "
                                 "run `tether index --repair`"))
        if task is not None and task.status != "open" and task_id in open_ids:
            store.report(Problem(store.marker_path(task_id), None,
                                 f"open marker of a task that is {task.status}, so boot lists it as open; "
                                 "run `tether index --repair`"))
    known = set(task_ids)
    for task_id in open_ids:
        if store.marker_is_folder(task_id):
            store.report(Problem(store.marker_path(task_id), None,
                                 "a directory where the open marker (an empty file) should be; remove it, "
                                 "then run `tether index --repair`"))
        elif task_id not in known:
            store.report(Problem(store.marker_path(task_id), None,
                                 "open marker without a task; run `tether index --repair`"))
    for decision_id in store.decision_ids():
        if ids.valid_id(decision_id):
            checked += 1
            _attempt(store, store.load_decision, decision_id)
        else:
            store.report(Problem(store.decision_path(decision_id), None,
                                 "not a decision id (letters, digits, '.', '_', '-'); tether ignores it"))
    return checked


def _logs(store: Store) -> int:
    """The context entries, the memory log, the pins, the compaction log, the dated progress logs
    and LATEST.json."""
    checked = 0
    for present, read in ((store.has_notes, store.notes), (store.has_events, lambda: list(store.all_events())),
                          (store.has_pins, store.pin_entries), (store.has_compactions, store.compaction_entries)):
        if _attempt(store, present):
            checked += 1
            _attempt(store, read)
    for date in store.progress_dates():
        checked += 1
        _attempt(store, store.check_progress, date)
    latest = _attempt(store, store.read_latest)
    if latest is not None:
        checked += 1
        from .boot import cut_short, newer_close

        newer = newer_close(store, latest.to_dict())
        if newer is not None:
            store.report(cut_short(store, newer))
    return checked


def _contexts(store: Store) -> int:
    """The session contexts kept in the store (tether ctx), against their JSON Schema, as `tether ctx
    validate` checks one."""
    found = store.campaign_contexts()
    if not found:
        return 0
    from ..campaign.document import parse_yaml
    from ..campaign.schema import problems

    for shown, data in found:
        parsed = _attempt(store, parse_yaml, data, shown)
        if parsed is not None:
            for problem in problems("session_context", parsed[0], shown, parsed[1], strip_prefix=1):
                store.report(problem)
    return len(found)


def _generated(store: Store, context_document: str) -> int:
    """index.json and the context document when it is kept in the store."""
    checked = 0
    for check in (store.check_manifest, lambda: store.check_document(context_document)):
        checked += bool(_attempt(store, check))
    return checked


def _offload(store: Store) -> int:
    """Every offload packet, against its schema; what sits in a cluster without being one is named."""
    clusters = store.offload_clusters()
    if not clusters:
        return 0
    from ..offload.packets import parse, parse_cluster

    checked = 0
    for cluster in clusters:
        # cluster.yaml gives every map its title: one left unreadable (the conflict two clones'
        # `cluster create` of one name leave) would go unseen until a map is rebuilt
        data = _attempt(store, store.read_cluster, cluster)
        if data is not None:
            checked += 1
            _attempt(store, parse_cluster, data, store.cluster_path(cluster))
        for shown in store.offload_strays(cluster):
            store.report(Problem(shown, None, "not a packet's file name (BLB-261205-0x4549n0qh.yaml); tether ignores it"))
        for packet_id in store.packet_ids(cluster):
            checked += 1
            data = _attempt(store, store.read_packet, cluster, packet_id)
            if data is not None:
                path = store.packet_path(cluster, packet_id)
                doc = _attempt(store, parse, data, path)
                if doc is not None and (doc["id"] != packet_id or doc["cluster"] != cluster):
                    store.report(Problem(path, None, f"its id and cluster ({doc['id']}, {doc['cluster']}) do not match"
                                                     " its file name and folder"))
    return checked
