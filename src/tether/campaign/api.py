"""The Python API for managers and orchestrators: one object per session context.

    from tether.campaign import Campaign
    camp = Campaign.open(campaign="YIELD-XYZ-001")          # or context="path/session_context.yaml"
    outcome = camp.invoke("content-worker", "Create the X announcement thread",
                          run=lambda view: my_skill(view), cost=1, tokens=30000)
    if not outcome.ran:
        print(outcome.verdict.text())                       # BLOCKED: ... rule: ... action: ...

``invoke`` is the seed's whole handoff in one step: project the context for the
skill, check scope and budget, run it, apply its result (based on the revision
it was given, so a concurrent change it would overwrite is refused, not lost).
Blocked and failed invocations are logged in ``compute.invocation_log`` too.
"""

from __future__ import annotations

import glob
import os

from ..errors import Conflict, Corrupt, InvalidInput, NotFound, Refused, TetherError
from ..model import clock, ids
from ..model.record import Record
from . import budget, decisions, lifecycle, merge, projection, scope
from .document import ContextFile, dump_yaml

CONTEXT_FILE = "session_context.yaml"
# Where a campaign's context is found by its id, from the repository root: the store, then the seed's .gtm/.
SEARCH = (".tether/contexts/{id}/" + CONTEXT_FILE, ".gtm/{id}/" + CONTEXT_FILE)


def _listed(doc: dict) -> dict | None:
    """What `tether ctx list` shows of a context read without the schema check; None when a field it
    shows has the wrong type (then the full check names it)."""
    camp = doc.get("campaign", {})
    if not isinstance(camp, dict):
        return None
    row = {"campaign": camp.get("gtm_id"), "id": doc.get("id"), "status": camp.get("status"),
           "revision": doc.get("revision", 0)}
    if not all(row[key] is None or type(row[key]) is str for key in ("campaign", "id", "status")):
        return None
    if type(row["revision"]) is not int:
        return None
    return row


class Invocation(Record):
    """What ``invoke`` did: ``ran`` (the skill ran), ``verdict`` (the check that blocked it, if any),
    ``result`` (the skill's result), ``applied`` (the merge summary), ``error`` (a refusal, if any)."""

    FIELDS = {"skill": "", "ran": False, "verdict": None, "result": None, "applied": None, "error": None}


class Campaign:
    def __init__(self, file: ContextFile, workspace=None, roles: str | None = None, actor: str | None = None) -> None:
        self.file = file
        self.workspace = workspace
        self.roles_path = roles
        self.actor = actor or os.environ.get("TETHER_ACTOR") or None

    # -- finding and creating ------------------------------------------------------------
    @staticmethod
    def _workspace(workspace=None, start=None):
        if workspace is not None:
            return workspace
        from ..workspace import Workspace

        try:
            return Workspace.open(start)
        except TetherError:
            return None

    @classmethod
    def _file(cls, path: str, workspace) -> ContextFile:
        shown = os.path.relpath(path, workspace.root_dir) if workspace else path
        if shown.startswith(".."):
            shown = path
        elif workspace is not None and not shown.startswith(workspace.store.label + os.sep):
            # In the working tree (.gtm/<id>/): a committed link there must not lead tether's writes
            # (the context, its archive) out of the repository. In the store, links are refused outright.
            from ..store.confine import resolve

            _, why = resolve(workspace.root_dir, os.path.dirname(shown))
            if why:
                raise InvalidInput(f"{shown} {why}; tether reads and writes a session context only inside the"
                                   " repository", hint="replace the link with the folder itself")
        return ContextFile(path, shown, workspace.store_dir if workspace else None)

    @classmethod
    def open(cls, context: str | None = None, campaign: str | None = None, workspace=None, closing: bool = False,
             **kw) -> "Campaign":
        """By path, by campaign id, by $TETHER_CONTEXT, or the only open context in the repository.
        ``closing``: a context whose close did not finish counts as open (closing it again finishes it)."""
        ws = cls._workspace(workspace)
        context = context or (None if campaign else os.environ.get("TETHER_CONTEXT"))
        if context:
            path = os.path.abspath(context)
            if os.path.isdir(path):
                path = os.path.join(path, CONTEXT_FILE)
            return cls(cls._file(path, ws), ws, **kw)
        if ws is None:
            raise NotFound("no session context given and no tether workspace to look in",
                           hint="pass --context PATH, or run `tether init` and `tether ctx init`")
        if campaign:
            for pattern in SEARCH:
                path = os.path.join(ws.root_dir, pattern.format(id=campaign))
                if os.path.isfile(path) or os.path.isdir(path):  # a directory there is named, not passed over
                    return cls(cls._file(path, ws), ws, **kw)
            raise NotFound(f"no session context for campaign {campaign}",
                           hint="run `tether ctx list`, or create it with `tether ctx init --campaign " + campaign + "`")
        listed = cls.list(ws)
        found = [c for c in listed if c["status"] != "closed"]
        unfinished = [] if found else [c for c in listed if c["status"] == "closed" and not cls._archived_at(ws, c["path"])]
        if closing and not found:
            found = unfinished
        if len(found) == 1:
            return cls(cls._file(os.path.join(ws.root_dir, found[0]["path"]), ws), ws, **kw)
        if not found:
            if unfinished:
                raise NotFound("there is no open session context", hint="the close of "
                               + ", ".join(c["campaign"] for c in unfinished) + " did not finish: run `tether ctx close"
                               f" --campaign {unfinished[0]['campaign']}` again to finish it")
            raise NotFound("there is no open session context", hint="create one with `tether ctx init --campaign ID`")
        raise InvalidInput(f"{len(found)} open session contexts: {', '.join(c['campaign'] for c in found)}",
                           hint="choose one with --campaign ID or --context PATH")

    @classmethod
    def _archived_at(cls, ws, path: str) -> bool:
        try:
            return cls(cls._file(os.path.join(ws.root_dir, path), ws), ws).archived()
        except TetherError:
            return True  # unreadable now: `tether ctx list` and validate name it, not this question

    @classmethod
    def list(cls, workspace) -> list[dict]:
        """Every context in the known places (archives excluded), with campaign id and status."""
        out = []
        for pattern in SEARCH:
            for path in sorted(glob.glob(os.path.join(workspace.root_dir, pattern.format(id="*")))):
                try:
                    file = cls._file(path, workspace)
                except TetherError as exc:  # a campaign folder a link leads out of the repository
                    out.append({"campaign": None, "id": None, "status": "unreadable", "revision": None,
                                "path": os.path.relpath(path, workspace.root_dir), "problem": str(exc)})
                    continue
                try:
                    doc = file.load(validate=False)
                    row = _listed(doc)
                    if row is None:  # a field of the wrong type: the schema says which, at which line
                        file.load()
                        raise Corrupt(f"{file.shown}: not a valid session context",
                                      hint=f"run `tether ctx validate --context {file.shown}`")
                    out.append({**row, "path": file.shown})
                except TetherError as exc:  # parse errors arrive as Corrupt, with file:line
                    out.append({"campaign": None, "id": None, "status": "unreadable", "revision": None,
                                "path": file.shown, "problem": str(exc)})
        return out

    @classmethod
    def create(cls, campaign: str, owner: str, *, context: str | None = None, workspace=None, context_id: str | None = None,
               learnings: int = 10, **fields) -> "Campaign":
        """Kickoff: a new context; past learnings from the workspace's memory go into knowledge.

        A closed context at the same place is replaced (its archive keeps it); an open one is not.
        """
        if not ids.valid_id(campaign):
            raise InvalidInput(f"invalid campaign id {campaign!r}", hint="use letters, digits, '.', '_' and '-'")
        if not owner or not owner.strip():
            raise InvalidInput("a campaign needs an owner", hint="pass --owner @who")
        ws = cls._workspace(workspace)
        if context is None:
            if ws is None:
                raise NotFound("no tether workspace to keep the context in",
                               hint="run `tether init`, or pass --context PATH")
            context = os.path.join(ws.store_dir, "contexts", campaign, CONTEXT_FILE)
        elif os.path.isdir(context):
            context = os.path.join(context, CONTEXT_FILE)
        camp = cls(cls._file(os.path.abspath(context), ws), ws)
        past = [n.text for n in ws.notes() if n.kind == "learning"][-learnings:] if ws and learnings else []
        now = clock.stamp()
        doc = lifecycle.new_context(context_id=context_id or f"session-{now[:10]}-{ids.random_suffix(4)}",
                                    gtm_id=campaign, owner=owner.strip(), now=now, past_learnings=past,
                                    actor=camp.actor, **fields)
        bad = camp.file.problems({"session_context": doc})
        if bad:  # what was given (a deadline, a budget) is not a value the context can hold
            raise InvalidInput(f"{bad[0].message}", hint="give that value in the form named; nothing was written")
        with camp.file.lock():
            if camp.file.exists():
                old = camp.file.load(validate=False)
                if (_listed(old) or {}).get("status") != "closed":
                    raise Conflict(f"a session context already exists at {camp.file.shown}",
                                   hint="use it (`tether ctx show`), or close it first (`tether ctx close`)")
                if not camp.archived(old):  # replacing it would lose the only copy of the campaign
                    raise Conflict(f"the close of the session context at {camp.file.shown} did not finish: it has no"
                                   " archive yet", hint=f"finish it with `tether ctx close --context {camp.file.shown}`,"
                                   " then start the new one")
            camp.file.write(doc)
        if ws is not None:
            ws.event("ctx_started", campaign=campaign, context=camp.file.shown)
        return camp

    @staticmethod
    def merge_versions(base: bytes, ours: bytes, theirs: bytes, shown: str, marker_size: int = 7):
        """Two clones' versions of one session context merged by meaning (campaign.clones): what
        git's merge driver and `tether index --repair` write."""
        from .clones import merge_files

        return merge_files(base, ours, theirs, shown, marker_size)

    # -- reading -----------------------------------------------------------------------------
    def load(self) -> dict:
        return self.file.load()

    @property
    def path(self) -> str:
        return self.file.path

    def roles_source(self) -> tuple[str | None, bytes]:
        """The roles file in use (None for the built-in default) and its text."""
        store = self.workspace.store_dir if self.workspace else None
        return projection.find_roles(self.file.path, store, self.roles_path)

    def roles(self) -> tuple[str | None, dict]:
        path, data = self.roles_source()
        return path, projection.parse_roles(data, path or "(built-in roles)")

    def for_skill(self, skill: str, token_budget: int | None = None, fmt: str = "yaml") -> dict:
        return projection.project(self.load(), self.roles()[1], skill, token_budget, fmt)

    def check_scope(self, request: str):
        return scope.check(self.load(), request)

    def check_budget(self, cost: int = 1, tokens: int = 0):
        if cost < 0 or tokens < 0:
            raise InvalidInput("cost and tokens cannot be negative", hint="tether ctx check-budget --cost 1 --tokens 5000")
        return budget.check(self.load(), cost, tokens, clock.stamp())

    def decisions(self, include_made: bool = False, overdue_only: bool = False) -> dict:
        doc = self.load()
        now = clock.stamp()
        late = decisions.overdue(doc, now)  # oldest deadline first
        late_ids = {d["id"] for d in late}
        pending = [{**d, "overdue": d["id"] in late_ids} for d in (late if overdue_only else doc.get("pending_decisions") or [])]
        return {"pending": pending, "made": list(doc.get("decisions_made") or []) if include_made else []}

    # -- changing ----------------------------------------------------------------------------
    def _change(self, change):
        def stamped(doc, revision):
            before = len(doc.get("history") or [])
            outcome = change(doc, revision, clock.stamp())
            for entry in (doc.get("history") or [])[before:]:  # every entry says which revision it made
                entry.setdefault("revision", revision)
                entry.setdefault("changed", [])
            return outcome
        outcome, _ = self.file.update(stamped)
        return outcome

    def apply(self, result, skill: str | None = None, expect_revision: int | None = None) -> dict:
        """Merge a skill result; raises Refused (nothing applied) with every reason."""
        normalized = merge.normalize(result, skill)
        return self._change(lambda doc, rev, now: merge.apply_result(doc, normalized, revision=rev, now=now,
                                                                     expect_revision=expect_revision))

    def log_invocation(self, skill: str, result: str, tokens: int = 0, calls: int = 0, details: str = "") -> dict:
        """Log an invocation that did not go through apply (blocked, failed); ``calls`` counts it."""
        def change(doc, rev, now):
            entry = budget.record_invocation(doc, skill, tokens, result, now, calls=calls)
            doc.setdefault("history", []).append({"action": f"skill_{result}", "timestamp": now, "actor": skill,
                                                  "details": details or result, "revision": rev, "changed": []})
            doc["last_updated"] = now
            return entry
        return self._change(change)

    def escalate(self, question: str, **kw) -> dict:
        kw.setdefault("by", self.actor)

        def change(doc, rev, now):
            entry, added = decisions.escalate(doc, question, now=now, **kw)
            if added:
                doc["last_updated"] = now
            return {**entry, "added": added}
        return self._change(change)

    def decide(self, decision_id: str, decision: str, by: str | None = None, rationale: str = "",
               record_in: str | None = None) -> dict:
        def change(doc, rev, now):
            made = decisions.decide(doc, decision_id, decision, now=now, by=by or self.actor, rationale=rationale,
                                    record_in=record_in)
            if record_in:
                doc["history"][-1].update({"revision": rev, "changed": [f"knowledge.{record_in}[+]"]})
            doc["last_updated"] = now
            return made
        return self._change(change)

    def set_stage(self, stage: str) -> str:
        return self._change(lambda doc, rev, now: lifecycle.set_stage(doc, stage, now, self.actor))

    def close(self, summary: str = "", learnings: list[str] = ()) -> dict:
        """Close: archive the context with the campaign's files; learnings and decisions go to memory."""
        if self.workspace is None:
            raise NotFound("closing needs a tether workspace to keep the learnings in", hint="run `tether init` first")
        context_id = str(self.load().get("id"))
        if not ids.valid_id(context_id):  # it names the archive's folder: "../../x" would put it anywhere
            raise InvalidInput(f"{self.file.shown}: the context id {context_id!r} cannot name the archive's folder",
                               hint="use letters, digits, '.', '_' and '-' (e.g. session-2026-01-29-001)")
        doc = self.load()
        # A close that stopped half-way (a failed archive write, a killed process) left the context
        # closed without its archive: running it again finishes it instead of refusing.
        if (doc.get("campaign") or {}).get("status") != "closed" or self.archived(doc):
            self._change(lambda d, rev, now: lifecycle.close(d, now, self.actor, summary))
            doc = self.load()
        ws = self.workspace
        gtm = doc["campaign"]["gtm_id"]
        known = {" ".join(n.text.split()).casefold() for n in ws.notes(include_resolved=True) if n.kind == "learning"}
        kept = []
        for text in lifecycle.learnings(doc, learnings):
            if text.casefold() not in known:
                ws.note("learning", text, by=self.actor)
                kept.append(text)
        recorded = []
        for made in doc.get("decisions_made") or []:
            try:
                ws.decide(made.get("question") or made["decision"], made["decision"], rationale=made.get("rationale", ""),
                          who=made.get("decided_by"), when=made.get("timestamp"),
                          decision_id=f"{gtm}.{made['id']}")
                recorded.append(f"{gtm}.{made['id']}")
            except Conflict:
                pass  # recorded by an earlier close of this campaign
        # The archive last, its manifest the very last file: the memory is kept even when it fails.
        archive, outside = self._archive(doc)
        spend = lifecycle.spend(doc)
        ws.event("ctx_closed", campaign=gtm, context=doc.get("id"), archive=archive, **spend)
        return {"campaign": gtm, "archive": archive, "learnings": kept, "decisions": recorded, "spend": spend,
                "outside": outside}

    def _archive_dir(self, doc: dict) -> str:
        return os.path.join(os.path.dirname(self.file.path), "archive", str(doc.get("id")))

    def archived(self, doc: dict | None = None) -> bool:
        """Whether the close of this context finished: its archive's manifest is written last."""
        doc = self.load() if doc is None else doc
        if not ids.valid_id(str(doc.get("id"))):
            return True  # no archive can be named by it: close refuses it, nothing waits to be finished
        return os.path.isfile(os.path.join(self._archive_dir(doc), "manifest.json"))

    def _archive(self, doc: dict) -> tuple[str, list[str]]:
        """archive/<context id>/ beside the context: the final context and a manifest of the artifacts.
        Returns the archive's folder and the artifact paths outside the repository (never opened)."""
        import hashlib
        import json

        from ..model.confine import refusal
        from ..store import fsio
        from ..store.confine import resolve

        base = self._archive_dir(doc)
        root = self.workspace.root_dir
        manifest, outside = [], []
        for artifact in doc.get("artifacts") or []:
            rel = str(artifact["path"])
            entry = {"path": artifact["path"], "type": artifact.get("type"), "status": artifact.get("status")}
            # A skill's result names its artifacts: a path outside the working tree (or in .git/) is
            # recorded as such, never opened, so its hash and size never reach the committed manifest.
            real, why = (None, refusal(rel))
            if why is None:
                real, why = resolve(root, rel)
            if why is not None:
                entry["outside"] = True
                outside.append(rel)
                manifest.append(entry)
                continue
            try:
                with open(real, "rb") as fh:
                    data = fh.read()
                entry.update({"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
            except OSError:
                entry["missing"] = True
            manifest.append(entry)
        store = self.file.root  # in the store: never through a link
        from ..store.written import note_file

        for name in (CONTEXT_FILE, "manifest.json"):
            note_file(store, os.path.join(base, name))
        fsio.write_atomic(os.path.join(base, CONTEXT_FILE), dump_yaml({"session_context": doc}), root=store)
        fsio.write_atomic(os.path.join(base, "manifest.json"), json.dumps(
            {"campaign": doc["campaign"]["gtm_id"], "context": doc.get("id"), "closed_at": doc["campaign"].get("closed_at"),
             "artifacts": manifest}, indent=2) + "\n", root=store)
        return os.path.relpath(base, self.workspace.root_dir), outside

    # -- orchestration -------------------------------------------------------------------------
    def invoke(self, skill: str, request: str, run, cost: int = 1, tokens: int = 0,
               token_budget: int | None = None) -> Invocation:
        """Project, check scope and budget, run ``run(view)``, apply its result. Never raises for a
        block or a refusal (see ``Invocation``); an exception from the skill is logged, then re-raised."""
        outcome = Invocation(skill=skill)
        for verdict in (self.check_scope(request), self.check_budget(cost, tokens)):
            if not verdict.allowed:
                outcome.verdict = verdict
                self.log_invocation(skill, "blocked", details=f"{request}: {verdict.reason}")
                return outcome
        view = self.for_skill(skill, token_budget)
        try:
            result = run(view)
        except Exception as exc:
            self.log_invocation(skill, "error", calls=1, details=f"{request}: {type(exc).__name__}: {exc}")
            raise
        outcome.ran, outcome.result = True, result
        if isinstance(result, dict):
            inner = result.get("skill_result") or result.get("context_update") or result
            if isinstance(inner, dict):
                inner.setdefault("base_revision", view["revision"])
        try:
            outcome.applied = self.apply(result, skill=skill)
        except Refused as exc:
            outcome.error = exc
            self.log_invocation(skill, "refused", calls=1, details=f"{exc}: " + "; ".join(exc.reasons))
        except InvalidInput as exc:  # a malformed result still spent its call
            outcome.error = exc
            self.log_invocation(skill, "invalid_result", calls=1, details=str(exc))
        return outcome
