"""How full the agent's context window is, for the workspace: which transcript, and the
configuration's thresholds and windows over tether.transcripts' reading."""

from __future__ import annotations

import os

from ..errors import InvalidInput, NotFound


def which_transcript(ws, transcript: str | None = None) -> tuple[str, str]:
    """(path, how it was chosen): the one given; else the session's own (a hook recorded its
    transcript under the session's id, workspace.session_from_environment); else the newest Claude Code or Codex transcript of a
    session run in this repository."""
    if transcript:
        return transcript, "given"
    session = ws.agent_session
    if session:
        own = _recorded_transcript(ws, session)
        if own:
            return own, f"session {session}"
    from ..transcripts import locate

    places = [ws.root_dir, os.getcwd()]
    found = locate.newest(places)
    if found is None:
        raise NotFound("no Claude Code or Codex transcript of a session in this repository (looked in "
                       + ", ".join(locate.searched(places)) + ")",
                       hint="give the transcript's path: `tether usage PATH` (a .jsonl session file)")
    agent, path = found
    return path, f"newest {agent} session here"


def _recorded_transcript(ws, session: str) -> str | None:
    for row in reversed(ws.store.session_events()):
        if row.get("session") == session and isinstance(row.get("transcript"), str) and row["transcript"]:
            return row["transcript"]
    return None


def usage(ws, transcript: str | None = None, *, model: str | None = None, window: int | None = None,
          exact: bool = False):
    """The reading (a tether.transcripts ContextUsage, with ``chosen``: how the transcript was found)."""
    from ..transcripts.tokens import TokenizerUnavailable
    from ..transcripts.usage import context_usage

    from ..transcripts.windows import checked_window

    checked_window(window)
    path, chosen = which_transcript(ws, transcript)
    config = ws.config  # its [context] windows and thresholds, as `tether compact` judges a list by them
    try:
        reading = context_usage(path, model=model, window=window, exact=bool(exact), **config.context_settings())
    except TokenizerUnavailable as exc:
        raise InvalidInput(f"--exact: {exc}", hint="install tiktoken (`pip install 'tether[tokens]'`), or set"
                                                   " TETHER_TIKTOKEN_DIR to a folder of <encoding>.tiktoken files;"
                                                   " without --exact the estimate counts") from None
    except FileNotFoundError:
        raise NotFound(f"{path}: no such transcript", hint="give the path of a Claude Code or Codex .jsonl file,"
                                                             " or of a message list (JSON)") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a directory, not a transcript",
                           hint="give a .jsonl file (Claude Code: ~/.claude/projects/<dir>/<session>.jsonl),"
                                " or a message list (JSON)") from None
    if reading.format is None and reading.problems and os.path.getsize(path):
        # Text that is no transcript (a README, a log): a reading of 0 tokens would pass for one.
        raise InvalidInput(f"{path}: not a transcript tether reads (Claude Code, Codex, or a chat message list)",
                           hint="give the session's .jsonl file (Claude Code: ~/.claude/projects/<dir>/<session>.jsonl;"
                                " Codex: ~/.codex/sessions/.../rollout-*.jsonl), or a message list: a JSON array of"
                                " messages or an object with \"messages\"")
    reading.chosen = chosen
    return reading
