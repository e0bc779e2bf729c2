"""``tether mcp``: the workspace as an MCP server over stdio (the official MCP Python SDK).

Each tool makes one call on the Workspace or a capability facade, as a CLI command does, and
returns that call's data as the CLI's ``--json`` gives it. Every tool that returns memory takes a
limit or a token budget with a small default: an agent's context is the scarce thing. A
TetherError comes back as an MCP tool error (``isError``) carrying its one line and its hint, the
commands a tool does said as tool calls (``hints``), so the model can act on it; so do arguments
that do not fit a tool's schema. The server itself keeps running. The brief, resume points'
messages and problems name tool calls the same way: the library words them for the command line.

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
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedToolError
from mcp.server.mcpserver.resources import FunctionResource

from ..core.workflow import mcp_instructions
from ..errors import HINTS, InvalidInput, TetherError
from . import hints

NAME = "tether"
BRIEF_BUDGET = 1000  # tokens: the brief over MCP is one tool result among many
LIMIT = 10  # records a listing returns unless asked for more
SHOW_CHARS = 4000  # characters of offloaded bytes per call; `offset` pages on

INSTRUCTIONS = mcp_instructions()  # the loop AGENTS.md and CLAUDE.md teach, as tool calls
# Units of a task given as the CLI takes them: "1-5,7", 3, or a list of those; a string is what an
# agent most often sends.
Units = list[str | int] | str | int | None
STATUS = {"complete": "complete", "clear": "archived", "reopen": "open"}  # tasks' actions that set one


def _error_text(exc: TetherError) -> str:
    hint = exc.hint or HINTS.get(type(exc).__name__)
    # The SDK puts "Error executing tool NAME: " before it.
    lines = [hints.tools(str(exc))] + [f"  - {hints.tools(r)}" for r in getattr(exc, "reasons", None) or []]
    if hint:
        lines.append(f"Hint: {hints.tools(hint)}")
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
    if value < 1:
        raise InvalidInput(f"{name} must be at least 1, got {value}", hint=f"e.g. {name}={LIMIT}")
    return value


class TetherServer(MCPServer):
    """Lists each open task as a resource of its own, as the tasks stand when the client asks."""

    def __init__(self, root: str) -> None:
        super().__init__(NAME, instructions=INSTRUCTIONS, version=_version(), log_level="WARNING")
        self.root = root
        self._workspace = None
        self._session: str | None = None  # this server's session id, when the environment names none
        self._schemas: dict[str, dict] | None = None

    async def call_tool(self, name: str, arguments: dict[str, Any], context=None):
        """The SDK's call, with what it would say about arguments that do not fit the tool's schema
        (a pydantic dump) said as one line and a hint; an argument the tool does not take is refused,
        not dropped: what it said would be lost."""
        if self._schemas is None:
            self._schemas = {t.name: t.input_schema for t in await self.list_tools()}
        schema = self._schemas.get(name)
        if schema is not None:
            unknown = [key for key in arguments if key not in schema.get("properties", {})]
            if unknown:
                raise ToolError(_failed(name, *hints.unknown_arguments(name, schema, unknown)))
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            from pydantic import ValidationError

            cause = exc.__cause__
            # The SDK's own refusal of the arguments; one from a tool's body is a crash, left as it is.
            if schema is None or isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            raise ToolError(_failed(name, *hints.argument_error(name, schema, arguments, cause.errors()))) from cause

    def workspace(self):
        """The workspace, kept between calls while tether.toml holds (the store's caches check
        each file's stat, so what the CLI and other sessions write is seen)."""
        ws = self._workspace
        if ws is None or not ws.config_unchanged():
            from ..workspace import Workspace

            ws = self._workspace = Workspace.open(self.root)
            if ws.agent_session is None:
                # The server lives as long as the agent's session: what it records is a session's,
                # which the brief names if it never closes (a one-off command's is not).
                from ..model.ids import new_id

                self._session = self._session or new_id("S")
                ws.session_id = self._session
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


def _failed(tool: str, line: str, hint: str) -> str:
    return f"Error executing tool {tool}: {line}\nHint: {hint}"


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
        from ..core.brief import MIN_BUDGET

        if budget < MIN_BUDGET:  # said here: the library's hint gives the CLI's default
            raise InvalidInput(f"budget {budget} is too small for a brief",
                               hint=f"a brief needs a budget of {MIN_BUDGET} tokens or more (the default is {BRIEF_BUDGET})")
        made = ws().boot(budget=budget, say=hints.tools)  # its commands as tool calls, within the budget
        return {"text": made.text, "tokens": made.rendered.tokens, "budget": made.budget,
                "omitted": made.rendered.omitted, "degraded": made.degraded}

    @tool(description="Exactly where to continue a task (default: the active one; naming a task makes it "
                      "active): its next unit, the state at its last checkpoint, next actions (at most `limit`), "
                      "and which task is active and the other open tasks (the newest `limit`; `others_total` "
                      "counts them all).")
    @_tool
    def resume(task: str | None = None, limit: int = 5) -> dict:
        # As `tether resume --json` answers: the other open tasks too, so a session that resumed one
        # knows the rest are there (and which task a call without `task` reaches).
        _limit(limit)
        workspace = ws()
        note = _stand_in_note(workspace, task, "this is")  # before the resume, which may choose a task
        point = workspace.resume(task)
        listed = workspace.tasks()
        others = [{"id": t.id, "title": t.title} for t in listed if t.id != point.task.id]
        data = _point(point)
        data["next_actions"] = data["next_actions"][:limit]
        problems = point.problems + [p for p in listed.problems if p not in point.problems]
        return {"resume": data, "active": point.task.id, "others": others[-limit:], "others_total": len(others),
                "problems": _problems(problems), "note": note}

    @tool(description="Tasks. action=list: the open ones (all=true: closed ones too), newest `limit` of them, "
                      "each with where it stands (`resume`), and which is active; status: one task (default "
                      "the active one); start: title, and items (a bulk list) or steps (ordered stages), "
                      "definition, criteria (it becomes the active task); complete (when it meets its "
                      "criteria), clear (archive it) or reopen a task (complete and clear default to the "
                      "active one, reopen to the task closed last); switch: make `task` the active one.")
    @_tool
    def tasks(action: Literal["list", "status", "start", "complete", "switch", "reopen", "clear"] = "list",
              task: str | None = None, all: bool = False, limit: int = 20, title: str = "",
              items: list[str] | None = None, steps: list[str] | None = None, definition: str = "",
              criteria: list[str] | None = None) -> dict:
        _limit(limit)
        workspace = ws()
        if action == "start":
            started = workspace.start_task(title, items=items, steps=steps, definition=definition, criteria=criteria,
                                           task_id=task)
            return {"task": started.to_dict()}
        if action == "status":
            status = workspace.task_status(task)
            data = status.to_dict()
            data["checkpoints"] = data["checkpoints"][-limit:]
            return dict(data, resume=_point(status.resume), problems=_problems(status.problems))
        if action == "switch" and not task:
            raise InvalidInput("give the id of the task to switch", hint='task ids: tasks(action="list")')
        if action == "switch":
            return {"active": workspace.switch(task).id}
        if action in STATUS:
            return _set_status(workspace, task, STATUS[action])
        found = workspace.tasks(include_closed=all)
        problems = list(found.problems)
        entries = []
        for t in list(found)[-limit:]:
            # As `tether task list --json` gives each, without the list of its units: `resume` says
            # how many there are and which is next (a bulk task may have hundreds).
            point = workspace.progress(t) if t.status == "open" else None
            problems += [p for p in (point.problems if point else []) if p not in problems]
            entry = {k: v for k, v in t.to_dict().items() if k != "units"}
            entries.append(dict(entry, resume=_point(point) if point else None))
        return {"active": workspace.active_task_id(), "total": len(found), "tasks": entries,
                "problems": _problems(problems), "note": _stand_in_note(workspace, None, "the active task is")}

    @tool(description="Save a numbered checkpoint of the active task (or `task`; it becomes the active one): "
                      "units done/undone ('1-5,7', 3, or a list of those), the current state, next actions, "
                      "files touched, a note, key data. Answers with the checkpoint, its file and where the "
                      "task now stands.")
    @_tool
    def checkpoint(state: str = "", done: Units = None, undone: Units = None,
                   next: list[str] | None = None, files: list[str] | None = None, note: str = "",
                   data: dict[str, str] | None = None,
                   status: Literal["in_progress", "completed", "blocked"] = "in_progress",
                   task: str | None = None, anchors: list[str] | None = None) -> dict:
        workspace = ws()
        said = _stand_in_note(workspace, task, "this went to")  # before the checkpoint, which chooses its task
        # a damaged checkpoint met on the way (its progress taken from the task's journal): said, as the CLI says it
        with workspace.store.collecting() as met:  # this call's: the server keeps its workspace between calls
            saved = workspace.checkpoint(task, done=_units(done, "done"), undone=_units(undone, "undone"),
                                         state=state, key_data=data or {}, files=files or [],
                                         next_actions=next or [], note=note, status=status, anchors=anchors)
            point = workspace.resume(after=saved)
        return {"checkpoint": dict(saved.__dict__), "path": workspace.checkpoint_path(saved), "resume": _point(point),
                "problems": _problems(met), "note": said}

    @tool(description="Entries of the session context document. action=add (kind, text; `anchors`: code it "
                      "cites, 'src/a.py', 'src/a.py:12' or 'src/a.py::func'), list (newest `limit`; all=true: "
                      "resolved too; each with `stale` when its cited code changed), resolve (id: it no longer "
                      "holds) or confirm (id: it still holds, its anchors pinned to the code as it is now).")
    @_tool
    def notes(action: Literal["add", "list", "resolve", "confirm"] = "list",
              kind: Literal["phase", "gotcha", "dont", "blocker", "note", "learning"] = "note",
              text: str = "", id: str | None = None, task: str | None = None, by: str | None = None,
              all: bool = False, limit: int = LIMIT, anchors: list[str] | None = None) -> dict:
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
                "problems": _problems(found.problems)}

    @tool(description="Decisions: action=decide records one (question, decision, rationale; `when`: ISO 8601, "
                      "default now; `anchors`: code it cites); action=list gives the newest `limit`, each with "
                      "`stale` when its cited code changed; action=confirm (id) re-pins a decision that still "
                      "holds to the code as it is now.")
    @_tool
    def decisions(action: Literal["decide", "list", "confirm"] = "list", question: str = "", decision: str = "",
                  rationale: str = "", who: str | None = None, when: str | None = None, task: str | None = None,
                  limit: int = LIMIT, id: str | None = None, anchors: list[str] | None = None) -> dict:
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
                "problems": _problems(found.problems)}

    @tool(description="Pins: what every compaction keeps verbatim and every brief shows. action=list gives "
                      "the pins in force (the newest `limit`; `total` counts them all); pin (text) adds one; "
                      "unpin (id, or the start of one) removes one. A line of the pins log that does not read "
                      "is named in `problems`, its pin left out.")
    @_tool
    def pins(action: Literal["list", "pin", "unpin"] = "list", text: str = "", id: str | None = None,
             limit: int = 20) -> dict:
        # As `tether pin --list --json`, `tether pin TEXT --json` and `tether unpin ID --json` answer.
        from ..compaction.api import Compactor

        compactor = Compactor(ws())
        if action == "pin":
            if not text.strip():
                raise InvalidInput("nothing to pin", hint='e.g. pins(action="pin", text="never touch the migrations'
                                                          ' folder")')
            return {"pin": compactor.pin(text)}
        if action == "unpin":
            if not id or not id.strip():
                raise InvalidInput("give the id of the pin to remove", hint='list them with pins(action="list")')
            return {"unpinned": compactor.unpin(id.strip()), "problems": _problems(compactor.pin_problems)}
        _limit(limit)
        found = compactor.pins()
        return {"total": len(found), "pins": found[-limit:], "problems": _problems(compactor.pin_problems)}

    @read_tool(description="The memories whose cited code changed or is gone since they were recorded (current "
                      "decisions and context entries, each open task's newest checkpoint), at most `limit`: "
                      "confirm what still holds, resolve what does not.")
    @_tool
    def stale(limit: int = LIMIT) -> dict:
        found = ws().stale()
        return {"total": len(found), "stale": found[:_limit(limit)]}

    @tool(description="Close the session: progress log, LATEST.json, completed tasks, memory, context "
                      "document and index; commit=true commits tether's files only. The context entries the "
                      "session marked worth keeping come back in `keep`; offload=true (or a cluster's name) "
                      "offloads them first, as `tether close --offload` does.")
    @_tool
    def close(summary: str, completed: list[str] | str | None = None, next_steps: list[str] | None = None,
              commit: bool = False, offload: bool | str = False) -> dict:
        if isinstance(offload, str) and not offload.strip():
            raise InvalidInput("offload names no cluster", hint="offload=true keeps them in Learnings, or name a"
                                                               ' cluster: offload="Learnings"')
        cluster = ("Learnings" if offload is True else offload) or None  # as `--offload` alone
        result = ws().close(summary, completed=_units(completed, "completed"), next_steps=next_steps or [],
                            commit=commit, offload=cluster)
        # What was not offloaded comes with its `tether offload` command, to run in a shell: no tool offloads.
        return dict(result.to_dict(), problems=_problems(result.problems))

    @read_tool(description="Offloaded bytes by their reference (a compaction's archive, an offloaded tool "
                      "result): `max_chars` characters from `offset`, and where the next page starts.")
    @_tool
    def show(ref: str, offset: int = 0, max_chars: int = SHOW_CHARS) -> dict:
        from ..compaction import Compactor

        _limit(max_chars, "max_chars")
        if offset < 0:  # a slice from the end would page from the start again
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
        # as `tether usage --json` gives it, with the commands its advice names said as tool calls
        advice = reading.advice
        return {**reading.as_dict(), "chosen": reading.chosen, "advice": hints.tools(advice) if advice else None}

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
        return ws().boot(budget=BRIEF_BUDGET, say=hints.tools).text

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
        lines.append(hints.tools(point.message()))
        if point.checkpoint and point.checkpoint.current_state:
            lines.append(f"state at {point.state_at()}: {point.checkpoint.current_state}")
        if point.next_actions:
            lines.append("next actions: " + "; ".join(point.next_actions[:LIMIT]))
        return "\n".join(lines)

    return server


def _point(point) -> dict:
    """A Resume point as the CLI's JSON gives it, its message naming the tool calls, not commands."""
    data = point.to_dict()
    data["message"] = hints.tools(data["message"])
    return data


def _problems(problems) -> list[dict]:
    """Problems as the CLI's JSON gives them, a command their message names said as a tool call."""
    return [dict(p.to_dict(), message=hints.tools(p.message)) for p in problems]


def _units(values, name: str) -> list[str]:
    """'1-5,7' style values (a string, a number, or a list of those) as the CLI splits them; one
    that names nothing ("", as an empty variable gives) is refused, as `--done ""` is."""
    if values is None:
        return []
    given = values if isinstance(values, list) else [values]
    parts = [part.strip() for v in given for part in str(v).split(",") if part.strip()]
    if given and not parts:
        raise InvalidInput(f"{name} names nothing", hint=f'e.g. {name}="3" or {name}="1-5,7"; leave {name} out for none')
    return parts


def _stand_in_note(ws, given: str | None, verb: str) -> str | None:
    """Said when a call that names no task acts on a task other than the one this machine chose
    (that one is closed, or not in this checkout): the session must not think it acted on the old one."""
    fell = ws.stand_in() if given is None else None
    if fell is None:
        return None
    status = fell["status"] or "not in this checkout (another branch?)"
    return (f"{fell['chosen']}, the task chosen on this machine, is {status}: {verb} {fell['active']}, the open task"
            f' with the newest checkpoint (tasks(action="switch", task=ID) to choose one; task=ID to name one)')


def _set_status(ws, task: str | None, status: str) -> dict:
    """tasks' complete, clear and reopen: as `tether task complete|clear|reopen --json`, with the
    notes the CLI prints."""
    # without an id, reopen takes the task closed last, not the active one: no stand-in to name
    said = [_stand_in_note(ws, task, "this went to") if status != "open" else None]
    done = ws.set_task_status(task, status)
    out = {"task": done.to_dict()}
    if status == "open":  # the entries its close retired apply again
        out["entries"] = [n.id for n in ws.notes() if n.task == done.id]
        if task is None:  # the caller named none: say which it was
            said.append(f"reopened {done.id}, the task closed last (task=ID to reopen another)")
    if status == "complete" and done.units:  # easy to do by mistake: said
        point = ws.progress(done)
        if point.next_number is not None:
            said.append(f"{done.id} was marked complete with {len(point.done)} of {point.total} {done.unit_name}s"
                        f' done (tasks(action="reopen", task="{done.id}") if it is not finished)')
    out["note"] = "; ".join(s for s in said if s) or None
    return out


def _verdict(camp, verdict, log_as: str | None, what: str) -> dict:
    if log_as and not verdict.allowed:
        camp.log_invocation(log_as, "blocked", details=f"{what}: {verdict.reason}")
    return {"context": camp.file.shown, **verdict.to_dict()}


def serve(root: str | None = None) -> None:
    build(root).run("stdio")
