"""``tether audit``: the facade. Gathers the facts (``facts``), runs the rules (``rules``),
applies the safe fixes, and keeps the result under ``.tether/local/`` for the next boot's brief."""

from __future__ import annotations

from ..errors import InvalidInput
from ..model import clock
from ..model.record import Record
from . import rules as R


class Report(Record):
    FIELDS = {"findings": list, "fixed": list, "rules": list, "skipped": list, "problems": list, "at": "",
              "index_current_at": None}

    def to_dict(self) -> dict:
        return {"at": self.at, "findings": [f.to_dict() for f in self.findings], "fixed": self.fixed,
                "rules": self.rules, "skipped": self.skipped, "problems": [p.to_dict() for p in self.problems]}


class Auditor:
    def __init__(self, workspace=None) -> None:
        if workspace is None:
            from ..workspace import Workspace

            workspace = Workspace.open()
        self.ws = workspace

    def settings(self) -> dict:
        return {**R.DEFAULTS, **self.ws.config.audit}

    def run(self, fix: bool = False, skip=(), full: bool = False) -> Report:
        """Every rule not in ``skip``; with ``fix``, the safe fixes first (then the rules again); with
        ``full``, git is asked about every file of the store, not only what can have changed since
        the last audit (see warm.status)."""
        unknown = [name for name in skip if name not in R.RULES]
        if unknown:
            raise InvalidInput(f"no audit rule {unknown[0]!r}", hint=f"the rules: {', '.join(R.RULES)}")
        skipped = [name for name in R.RULES if name in skip]
        fixed: list[str] = []
        report = self._check(skipped, full)
        if fix:
            fixed = self._fix({f.rule for f in report.findings if f.fixable})
            if fixed:
                report = self._check(skipped)
        report.fixed = fixed
        self._keep(report)
        return report

    def _check(self, skipped: list[str], full: bool = False) -> Report:
        from . import facts as F

        ws, settings, want = self.ws, self.settings(), (lambda rule: rule not in skipped)
        now = clock.stamp()
        found: list[R.Finding] = []
        with ws.store.collecting() as problems:
            events = F.recent_events(ws, settings)
            needs_sessions = any(map(want, ("checkpoint-overdue", "context-unsaved", "keep-unoffloaded",
                                            "busy-unsaved")))
            recent = F.sessions(ws, settings["recent_days"]) if needs_sessions else []
            if want("checkpoint-overdue"):
                found += R.checkpoint_overdue(F.active(ws, events, recent), now, settings)
            changed = F.uncommitted(ws, full) if want("uncommitted") or want("index-stale") else None
            if want("uncommitted"):
                found += R.uncommitted(changed, ws.store.label)
            current_at = None
            if want("index-stale"):
                stale, current_at = F.index(ws, changed, ws.store.read_audit_result())
                found += R.index_stale(stale)
            if want("context-stale"):
                found += R.context_stale(*F.context_document(ws, events))
            if want("decision-overdue"):
                late, _ = F.overdue_decisions(ws)
                found += R.decision_overdue(late)
            if want("cache-orphan"):
                found += R.cache_orphans(*F.cache(ws))
            entries, offload_problems = F.packets(ws) if any(map(want, ("link-broken", "keep-unoffloaded",
                                                                        "busy-unsaved"))) else ([], [])
            if want("link-broken"):
                found += R.links_broken(F.broken_links(ws, entries))
            if want("maps-stale"):
                found += R.maps_stale(F.stale_maps(ws))
            if want("context-unsaved"):
                states = F.context_states(ws, recent)
                found += R.context_unsaved(states, F.newest_save(ws, events) if states else None)
            created = [e["created"] for e in entries]
            if want("keep-unoffloaded"):
                found += R.keep_unoffloaded(F.keep_mentions(ws, recent, settings["phrases"]), created)
            if want("busy-unsaved"):
                found += R.busy_unsaved(F.busy(ws, recent, events, created), settings)
            met = list(problems) + [p for p in offload_problems if p not in problems]
        return Report(findings=found, rules=[r for r in R.RULES if r not in skipped], skipped=skipped,
                      problems=met, at=now, index_current_at=current_at)

    def _fix(self, rules: set) -> list[str]:
        """The safe fixes, in the order that leaves the manifest last (it lists the others' files)."""
        ws, done = self.ws, []
        if "context-stale" in rules:
            ws.context_changed()
            done.append(f"regenerated {ws.config.context_document}")
        if "maps-stale" in rules:
            from ..offload import Offload

            written = Offload(ws).refresh()["written"]
            done.append(f"rewrote {len(written)} offload map{'s' if len(written) != 1 else ''}")
        if rules:  # the fixes above change files the manifest lists
            count = ws.write_index()
            done.append(f"wrote {ws.store.manifest_path()} ({count} files)")
        return done

    def _keep(self, report: Report) -> None:
        """The result for the next boot's brief (per machine); a read-only store keeps nothing."""
        import json

        if self.ws.store.readonly:
            return
        current_at = report.index_current_at
        if "index-stale" in report.skipped:  # not looked at: what the last audit knew still holds
            current_at = (self.ws.store.read_audit_result() or {}).get("index_current_at")
        data = {"at": report.at, "index_current_at": current_at, "findings": [{"rule": f.rule, "where": f.where(), "message": f.message,
                                               "next": f.rule in R.FOR_NEXT_SESSION} for f in report.findings]}
        try:
            self.ws.store.write_audit_result(json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        except OSError:
            pass  # the brief then says nothing of the audit: no worse than before it ran


