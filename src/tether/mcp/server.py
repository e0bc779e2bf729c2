"""``tether mcp``: the workspace as an MCP server over stdio (the official MCP Python SDK).

Each tool makes one call on the Workspace or a capability facade, as a CLI command does, and
returns that call's data as the CLI's ``--json`` gives it. Every tool that returns memory takes a
limit or a token budget with a small default: an agent's context is the scarce thing. A
TetherError comes back as an MCP tool error (``isError``) carrying its one line and the hint the
CLI would print, so the model can act on it; the server itself keeps running.

One Workspace serves every call, as for any long-lived user of the Python API: the store's
in-process caches check each file's stat, so what the CLI, hooks and other sessions write between
calls is seen; a changed tether.toml opens the workspace again.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.resources import FunctionResource

from ..errors import HINTS, TetherError

NAME = "tether"
BRIEF_BUDGET = 1000  # tokens: the brief over MCP is one tool result among many
LIMIT = 10  # records a listing returns unless asked for more
SHOW_CHARS = 4000  # characters of offloaded bytes per call; `offset` pages on

INSTRUCTIONS = (
    "tether keeps this repository's tasks, checkpoints, decisions and context entries. At the start of "
    "a session call `brief`; before stopping or when the context fills, call `checkpoint`; `resume` says "
    "exactly where to continue. Errors carry a hint: follow it."
)


def _error_text(exc: TetherError) -> str:
    hint = exc.hint or HINTS.get(type(exc).__name__)
    # The SDK puts "Error executing tool NAME: " before it.
    lines = [str(exc)] + [f"  - {r}" for r in getattr(exc, "reasons", None) or []]
    if hint:
        lines.append(f"Hint: {hint}")
    return "\n".join(lines)


def _json(value) -> str:
    """The data as compact JSON text: the model reads every character of it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _tool(fn):
    """A tool body whose TetherError (or refused file-system call) becomes a tool error with a hint."""
    @functools.wraps(fn)
    async def call(**kwargs):
        try:
            return _json(fn(**kwargs))
        except TetherError as exc:
            raise ToolError(_error_text(exc)) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise ToolError(f"{where}{exc.strerror or exc}\nHint: fix that path (permissions? a full disk?)"
                            " and call the tool again") from None
    return call


def _limit(value: int, name: str = "limit") -> int:
    from ..errors import InvalidInput

    if value < 1:
        raise InvalidInput(f"{name} must be at least 1, got {value}", hint=f"e.g. {name}={LIMIT}")
    return value


class TetherServer(MCPServer):
    """Lists each open task as a resource of its own, as the tasks stand when the client asks."""

    def __init__(self, root: str) -> None:
        super().__init__(NAME, instructions=INSTRUCTIONS, version=_version(), log_level="WARNING")
        self.root = root
        self._workspace = None

    def workspace(self):
        """The workspace, kept between calls while tether.toml holds (the store's caches check
        each file's stat, so what the CLI and other sessions write is seen)."""
        ws = self._workspace
        if ws is None or not ws.config_unchanged():
            from ..workspace import Workspace

            ws = self._workspace = Workspace.open(self.root)
        return ws

    async def list_resources(self):
        listed = await super().list_resources()
        try:
            tasks = self.workspace().tasks()
        except TetherError:
            return listed  # no workspace yet: the fixed resources say so when read
        from mcp.types import Resource

        return listed + [Resource(uri=f"tether://task/{t.id}", name=f"task {t.id}", title=t.title,
                                  description=f"Open task {t.id}: its state, progress and where to resume",
                                  mime_type="text/plain") for t in tasks]


def _version() -> str:
    from .. import __version__

    return __version__


def build(root: str | None = None) -> TetherServer:
    server = TetherServer(root or os.getcwd())
    ws = server.workspace
    from mcp.types import ToolAnnotations

    # Hints a client acts on (Codex runs a read-only tool without asking): whether the tool can
    # change tether's tracked files (per-machine caches, such as the recall index, do not count).
    # `resume` can: naming a task makes it the active one, which the context document shows.
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
    # the text is the JSON itself
    tool = functools.partial(server.tool, structured_output=False, annotations=writes)
    read_tool = functools.partial(server.tool, structured_output=False, annotations=reads)

    # -- the session ------------------------------------------------------------------------
    @read_tool(description="The readiness brief a new session needs (tasks, where to resume, decisions, "
                      "context entries), capped at `budget` tokens.")
    @_tool
    def brief(budget: int = BRIEF_BUDGET) -> dict:
        made = ws().boot(budget=budget)
        return {"text": made.text, "tokens": made.rendered.tokens, "budget": made.budget,
                "omitted": made.rendered.omitted, "degraded": made.degraded}

    @tool(description="Exactly where to continue a task (default: the active one; naming a task makes it "
                      "active): its next unit, the state at its last checkpoint, next actions (at most `limit`).")
    @_tool
    def resume(task: str | None = None, limit: int = 5) -> dict:
        _limit(limit)
        fell = ws().active_fallback() if task is None else None
        point = ws().resume(task)
        data = point.to_dict()
        data["next_actions"] = data["next_actions"][:limit]
        out = {"resume": data, "problems": [p.to_dict() for p in point.problems]}
        if fell is not None:  # the task this machine chose is closed or gone: say which one this is instead
            out["note"] = (f"{fell[0]}, the task chosen on this machine, is no longer open: this is {fell[1]},"
                           " the open task with the newest checkpoint")
        return out

    @tool(description="List the open tasks (action=list; all=true: closed ones too), newest `limit` of them, "
                      "show one task (action=status, default the active one), or start one (action=start: "
                      "title, and items (a bulk list) or steps (ordered stages), definition, criteria; it "
                      "becomes the active task).")
    @_tool
    def tasks(action: Literal["list", "status", "start"] = "list", task: str | None = None, all: bool = False,
              limit: int = 20, title: str = "", items: list[str] | None = None, steps: list[str] | None = None,
              definition: str = "", criteria: list[str] | None = None) -> dict:
        _limit(limit)
        if action == "start":
            started = ws().start_task(title, items=items, steps=steps, definition=definition, criteria=criteria,
                                      task_id=task)
            return {"task": started.to_dict()}
        if action == "status":
            status = ws().task_status(task)
            data = status.to_dict()
            data["checkpoints"] = data["checkpoints"][-limit:]
            return data
        workspace = ws()
        found = workspace.tasks(include_closed=all)
        shown = list(found)[-limit:]
        return {"active": workspace.active_task_id(), "total": len(found),
                "tasks": [{"id": t.id, "title": t.title, "status": t.status, "created": t.created} for t in shown],
                "problems": [p.to_dict() for p in found.problems]}

    @tool(description="Save a numbered checkpoint of the active task (or `task`): units done/undone "
                      "(e.g. '1-5'), the current state, next actions, files touched, a note, key data.")
    @_tool
    def checkpoint(state: str = "", done: list[str] | None = None, undone: list[str] | None = None,
                   next: list[str] | None = None, files: list[str] | None = None, note: str = "",
                   data: dict[str, str] | None = None,
                   status: Literal["in_progress", "completed", "blocked"] = "in_progress",
                   task: str | None = None, anchors: list[str] | None = None) -> dict:
        workspace = ws()
        # a damaged checkpoint met on the way (its progress taken from the task's journal): said, as the CLI says it
        with workspace.store.collecting() as met:  # this call's: the server keeps its workspace between calls
            saved = workspace.checkpoint(task, done=_parts(done), undone=_parts(undone), state=state,
                                         key_data=data or {}, files=files or [], next_actions=next or [], note=note,
                                         status=status, anchors=anchors)
        return {"checkpoint": saved.id, "task": saved.task, "name": saved.name, "done": saved.done,
                "problems": [p.to_dict() for p in met]}

    @tool(description="Entries of the session context document. action=add (kind, text; `anchors`: code it "
                      "cites, 'src/a.py', 'src/a.py:12' or 'src/a.py::func'), list (newest `limit`; all=true: "
                      "resolved too; each with `stale` when its cited code changed), resolve (id: it no longer "
                      "holds) or confirm (id: it still holds, its anchors pinned to the code as it is now).")
    @_tool
    def notes(action: Literal["add", "list", "resolve", "confirm"] = "list",
              kind: Literal["phase", "gotcha", "dont", "blocker", "note", "learning"] = "note",
              text: str = "", id: str | None = None, task: str | None = None, by: str | None = None,
              all: bool = False, limit: int = LIMIT, anchors: list[str] | None = None) -> dict:
        from ..errors import InvalidInput

        if action == "add":
            if not text.strip():
                raise InvalidInput("give the entry's text", hint='e.g. notes(action="add", kind="gotcha", text="...")')
            return {"note": ws().note(kind, text, by=by, task=task, anchors=anchors).to_dict()}
        if action in ("resolve", "confirm"):
            if not id:
                raise InvalidInput(f"give the id of the entry to {action}", hint='list them with notes(action="list")')
            if action == "confirm":
                return {"confirmed": ws().confirm(id)}
            return {"note": ws().resolve_note(id).to_dict()}
        _limit(limit)
        found = ws().notes(include_resolved=all)
        shown = list(found)[-limit:]
        stale = ws().stale_flags([n for n in shown if not n.resolved])  # cited code changed or gone
        return {"total": len(found), "notes": [dict(n.to_dict(), stale=stale.get(n.id, [])) for n in shown],
                "problems": [p.to_dict() for p in found.problems]}

    @tool(description="Decisions: action=decide records one (question, decision, rationale; `when`: ISO 8601, "
                      "default now; `anchors`: code it cites); action=list gives the newest `limit`, each with "
                      "`stale` when its cited code changed; action=confirm (id) re-pins a decision that still "
                      "holds to the code as it is now.")
    @_tool
    def decisions(action: Literal["decide", "list", "confirm"] = "list", question: str = "", decision: str = "",
                  rationale: str = "", who: str | None = None, when: str | None = None, task: str | None = None,
                  limit: int = LIMIT, id: str | None = None, anchors: list[str] | None = None) -> dict:
        from ..errors import InvalidInput

        if action == "confirm":
            if not id:
                raise InvalidInput("give the id of the decision to confirm", hint='list them with decisions(action="list")')
            return {"confirmed": ws().confirm(id)}
        if action == "decide":
            if not question.strip() or not decision.strip():
                raise InvalidInput("give the question and the decision",
                                   hint='e.g. decisions(action="decide", question="Which model?", decision="Phi-3")')
            return {"decision": dict(ws().decide(question, decision, rationale=rationale, who=who, when=when,
                                                task=task, anchors=anchors).__dict__)}
        found = ws().decisions(limit=_limit(limit))
        stale = ws().stale_flags(found)
        return {"decisions": [dict(d.__dict__, stale=stale.get(d.id, [])) for d in found],
                "problems": [p.to_dict() for p in found.problems]}

    @read_tool(description="The memories whose cited code changed or is gone since they were recorded (current "
                      "decisions and context entries, each open task's newest checkpoint), at most `limit`: "
                      "confirm what still holds, resolve what does not.")
    @_tool
    def stale(limit: int = LIMIT) -> dict:
        found = ws().stale()
        return {"total": len(found), "stale": found[:_limit(limit)]}

    @tool(description="Close the session: progress log, LATEST.json, completed tasks, memory, context "
                      "document and index; commit=true commits tether's files only.")
    @_tool
    def close(summary: str, completed: list[str] | None = None, next_steps: list[str] | None = None,
              commit: bool = False) -> dict:
        result = ws().close(summary, completed=_parts(completed), next_steps=next_steps or [], commit=commit)
        return result.to_dict()

    @read_tool(description="Offloaded bytes by their reference (a compaction's archive, an offloaded tool "
                      "result): `max_chars` characters from `offset`, and where the next page starts.")
    @_tool
    def show(ref: str, offset: int = 0, max_chars: int = SHOW_CHARS) -> dict:
        from ..compaction import Compactor

        _limit(max_chars, "max_chars")
        if offset < 0:  # a slice from the end would page from the start again
            from ..errors import InvalidInput

            raise InvalidInput(f"offset must be 0 or more, got {offset}", hint="start at offset=0; each page says its next_offset")
        text = Compactor(ws()).show(ref).decode("utf-8", "replace")
        page = text[offset:offset + max_chars]
        following = offset + len(page)
        return {"ref": ref, "text": page, "offset": offset, "total_chars": len(text),
                "next_offset": following if following < len(text) else None}

    @read_tool(description="Search everything the project remembers (tasks, checkpoints, decisions, context "
                      "entries, progress logs, campaigns, offload packets, compaction archives): hits with "
                      "where each came from and whether it still holds, at most `limit` and `budget` tokens. "
                      "`mode`: lexical, semantic or hybrid (default: hybrid when a [recall] model is set up).")
    @_tool
    def recall(query: str, limit: int = 5, budget: int = 800, kinds: list[str] | None = None,
               task: str | None = None, since: str | None = None, mode: str | None = None) -> dict:
        from ..recall import Recall

        searcher = Recall(ws())
        try:
            return searcher.search(query, limit=_limit(limit), budget=budget, kinds=kinds, task=task, since=since,
                                   mode=mode)
        finally:
            searcher.close()

    @read_tool(description="How full the agent's context window is: tokens, window, percent, state and the "
                      "action it calls for (default transcript: this session's, else the newest here).")
    @_tool
    def usage(transcript: str | None = None, model: str | None = None, window: int | None = None) -> dict:
        reading = ws().context_usage(transcript, model=model, window=window)
        return {**reading.as_dict(), "chosen": reading.chosen}

    # -- the shared session context of multi-skill workflows (tether ctx) -------------------
    def open_campaign(context: str | None, campaign_id: str | None, roles: str | None = None):
        from ..campaign import Campaign

        return Campaign.open(context=context, campaign=campaign_id, roles=roles, workspace=ws())

    ctx_where = ("`context` (a path) or `campaign` (an id) picks the session context; default: "
                 "$TETHER_CONTEXT or the only open one.")

    @read_tool(name="ctx_for", description="Exactly the part of the session context a skill receives, at most "
                                      f"`budget` tokens. {ctx_where}")
    @_tool
    def ctx_for(skill: str, budget: int = BRIEF_BUDGET, context: str | None = None, campaign: str | None = None,
                roles: str | None = None) -> dict:
        return {"view": open_campaign(context, campaign, roles).for_skill(skill, budget, "json")}

    @tool(name="ctx_apply", description="Merge a skill result (an object as the skill_result schema says) into "
                                        f"the session context; a refused update is an error with its reasons. {ctx_where}")
    @_tool
    def ctx_apply(result: dict[str, Any], skill: str | None = None, expect_revision: int | None = None,
                  context: str | None = None, campaign: str | None = None) -> dict:
        camp = open_campaign(context, campaign)
        return {"context": camp.file.shown, **camp.apply(result, skill=skill, expect_revision=expect_revision)}

    @tool(name="ctx_check_scope", description=f"ALLOWED or BLOCKED, with the reason and rule, for a request. {ctx_where}")
    @_tool
    def ctx_check_scope(request: str, log_as: str | None = None, context: str | None = None,
                        campaign: str | None = None) -> dict:
        camp = open_campaign(context, campaign)
        return _verdict(camp, camp.check_scope(request), log_as, request)

    @tool(name="ctx_check_budget", description="ALLOWED or BLOCKED for a cost (skill calls, tokens) against the "
                                               f"calls, tokens and deadline left. {ctx_where}")
    @_tool
    def ctx_check_budget(cost: int = 1, tokens: int = 0, log_as: str | None = None, context: str | None = None,
                         campaign: str | None = None) -> dict:
        camp = open_campaign(context, campaign)
        return _verdict(camp, camp.check_budget(cost, tokens), log_as, f"cost {cost}, {tokens} tokens")

    @tool(name="ctx_escalate", description=f"Add a pending decision for the owner (with a deadline). {ctx_where}")
    @_tool
    def ctx_escalate(question: str, context_text: str = "", options: list[str] | None = None,
                     owner: str | None = None, deadline: str | None = None, context: str | None = None,
                     campaign: str | None = None) -> dict:
        camp = open_campaign(context, campaign)
        entry = camp.escalate(question, context=context_text, options=options or [], owner=owner, deadline=deadline)
        return {"context": camp.file.shown, "decision": entry}

    @tool(name="ctx_decide", description=f"Decide a pending decision: it moves to decisions_made. {ctx_where}")
    @_tool
    def ctx_decide(decision_id: str, decision: str, by: str | None = None, rationale: str = "",
                   record_in: str | None = None, context: str | None = None, campaign: str | None = None) -> dict:
        camp = open_campaign(context, campaign)
        made = camp.decide(decision_id, decision, by=by, rationale=rationale, record_in=record_in)
        return {"context": camp.file.shown, "decision": made}

    # -- resources --------------------------------------------------------------------------
    def resource(fn):
        @functools.wraps(fn)
        def read(**kwargs):
            try:
                return fn(**kwargs)
            except TetherError as exc:
                raise ResourceError(_error_text(exc)) from None
        return read

    @resource
    def brief_text() -> str:
        return ws().boot(budget=BRIEF_BUDGET).text

    @resource
    def context_text() -> str:
        return ws().context_document_text()

    server.add_resource(FunctionResource.from_function(
        brief_text, uri="tether://brief", name="brief", title="Readiness brief",
        description=f"The boot brief, at most {BRIEF_BUDGET} tokens", mime_type="text/plain"))
    server.add_resource(FunctionResource.from_function(
        context_text, uri="tether://context", name="context", title="Session context document",
        description="The session context document (.tether/CONTEXT.md by default)", mime_type="text/markdown"))

    @server.resource("tether://task/{task_id}", name="task", title="A task",
                     description="A task: its state, progress and where to resume", mime_type="text/plain")
    @resource
    def task_text(task_id: str) -> str:
        status = ws().task_status(task_id)
        task, point = status.task, status.resume
        lines = [f"{task.id}: {task.title} [{task.status}]"]
        if task.definition:
            lines.append(f"definition: {task.definition}")
        lines += [f"success criterion: {c}" for c in task.criteria]
        lines.append(point.message())
        if point.checkpoint and point.checkpoint.current_state:
            lines.append(f"state at {point.state_at()}: {point.checkpoint.current_state}")
        if point.next_actions:
            lines.append("next actions: " + "; ".join(point.next_actions[:LIMIT]))
        return "\n".join(lines)

    return server


def _parts(values: list[str] | None) -> list[str]:
    """'1-5,7' style values as the CLI splits them."""
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


def _verdict(camp, verdict, log_as: str | None, what: str) -> dict:
    if log_as and not verdict.allowed:
        camp.log_invocation(log_as, "blocked", details=f"{what}: {verdict.reason}")
    return {"context": camp.file.shown, **verdict.to_dict()}


def serve(root: str | None = None) -> None:
    build(root).run("stdio")
