"""The ``tether`` command: parse, make one call into the core, render.

argparse (stdlib) keeps start-up fast: boot runs at every session start.
The two commands that run at every session start skip even that when they
can: ``tether boot`` with at most --json and --budget is answered from the
boot cache (see brief_cache), and ``tether hook claude-code`` goes straight to
its handler; ``tether checkpoint``, run many times a session, has its plain
options read without argparse (quick_args); anything else, or a cold cache,
takes the full path.
Every command returns a :class:`Result`; ``--json`` prints its data as one
JSON object with ``ok`` and ``schema_version``, otherwise its text. Errors
are one line plus a hint on stderr (a JSON object on stdout under
``--json``) with the exit codes in :mod:`tether.errors`.
"""

from __future__ import annotations

import os
import sys

from ..errors import EXIT_DEGRADED, EXIT_INTERNAL, EXIT_OK, EXIT_REFUSED, HINTS, TetherError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from .commands import Parser

SCHEMA_VERSION = 1
GROUPS = ("task", "note", "hook", "install", "uninstall", "ctx", "offload")  # commands whose next word is a command of theirs


COMMANDS = ("init", "config", "task", "checkpoint", "resume", "decide", "note", "close", "boot", "log",
            "index", "verify", "drift", "merge-driver", "hook", "install", "uninstall", "ctx", "demo",
            "compact", "show", "pin", "unpin", "usage", "statusline", "offload", "recall", "mcp", "audit")


def _argparse():
    """argparse, without loading gettext for it (1 ms of every command: the module compiles a
    pattern as it loads). tether speaks English, and so do argparse's few own strings ("usage:",
    "options"), so its translation functions are the identity: a stand-in module lends them for
    argparse's `from gettext import ...`, then leaves, and a later `import gettext` gets the real one.
    """
    if "argparse" not in sys.modules and "gettext" not in sys.modules:
        import types

        stand_in = types.ModuleType("gettext")
        stand_in.gettext, stand_in.ngettext = str, _ngettext
        sys.modules["gettext"] = stand_in
        try:
            import argparse
        finally:
            del sys.modules["gettext"]
    import argparse

    # Where gettext was loaded already: without this, building a parser looks for translation
    # catalogs (gettext imports locale and stats .mo paths for every string).
    argparse._ = str
    argparse.ngettext = _ngettext
    return argparse


def _formatter(prog: str) -> argparse.HelpFormatter:
    argparse = _argparse()

    # argparse would import shutil (2 ms) just to ask the terminal width.
    try:
        width = os.get_terminal_size().columns - 2
    except OSError:
        width = 78
    return argparse.HelpFormatter(prog, width=max(40, min(width, 118)))


def build_parser(only: str | None = None) -> Parser:
    """The full parser, or with ``only`` a parser that knows just that command."""
    argparse = _argparse()
    from . import commands
    from .commands import Parser

    common = argparse.ArgumentParser(add_help=False, formatter_class=_formatter)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON object (stable schema, see docs/reference.md)")
    common.add_argument("-C", dest="directory", default=argparse.SUPPRESS, metavar="DIR",
                        help="run as if tether was started in DIR")
    parser = Parser(prog="tether", parents=[common], formatter_class=_formatter,
                    description="Keep AI sessions tethered to a git repository.")
    parser.add_argument("--version", action="version", version=f"tether {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.register(sub, common, only)
    return parser


def _ngettext(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _version() -> str:
    from .. import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    want_json = "--json" in argv
    try:
        for position, arg in enumerate(argv):
            if not arg.isascii():
                _check_utf8(argv, position)
        if argv == ["hook", "claude-code"] or argv == ["hook", "codex"]:  # at every session start: no parser needed
            from ..hooks.claude_code import handle

            return handle(sys.stdin, sys.stdout, sys.stderr, argv[1])
        if argv == ["statusline"]:  # after every message of a Claude Code session: no parser either
            from ..hooks.statusline import handle as status_line

            return status_line(sys.stdin, sys.stdout, sys.stderr)
        if argv[:1] == ["boot"]:
            code = _warm_boot(argv[1:], want_json)
            if code is not None:
                return code
        args = quick_args(argv)
        if args is None:
            args = _parse(argv, want_json)
            if args is None:
                return EXIT_OK
        if getattr(args, "directory", None):
            _change_directory(args.directory)
        result = args.handler(args)
    except TetherError as exc:
        if not exc.hint:  # the library names no command; the command line can
            exc.hint = HINTS.get(type(exc).__name__)
        return _fail(exc, want_json, argv)
    except KeyboardInterrupt:
        return _fail(TetherError("interrupted", hint="run the command again"), want_json, argv)
    except BrokenPipeError:
        return _reader_gone()
    except OSError as exc:  # the file system said no: a directory where a file should be, permissions, a full disk
        if os.environ.get("TETHER_DEBUG"):
            raise
        where = f"{_shown_path(exc.filename)}: " if exc.filename else ""
        import errno

        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            hint = ("free some space on that disk, then run the command again (nothing was left half-written;"
                    " a close run again writes nothing twice)")
        else:
            hint = "fix that path (a directory where a file should be? its permissions? a full disk?) and run the command again"
        return _fail(TetherError(f"{where}{exc.strerror or exc}", hint=hint), want_json, argv)
    except Exception as exc:  # a bug in tether, not a user mistake
        if os.environ.get("TETHER_DEBUG"):
            raise
        error = TetherError(f"internal error: {type(exc).__name__}: {exc}",
                            hint="rerun with TETHER_DEBUG=1 for a traceback, and report it")
        error.exit_code = EXIT_INTERNAL
        error.kind = "internal"
        return _fail(error, want_json, argv)
    if result is None:
        return EXIT_OK
    try:
        return _emit(args.command, result.data, result.text, result.exit_code, want_json)
    except BrokenPipeError:  # `tether note list | head -1`: the reader had what it wanted
        return _reader_gone()


def _reader_gone() -> int:
    """The end of a command whose reader closed its output: quietly, as other tools end. What is
    still buffered goes nowhere, or the interpreter's last flush would raise again on exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # a stdout without a descriptor (a test's): nothing to flush there
        pass
    return EXIT_OK


def _parse(argv: list[str], want_json: bool):
    """The arguments as argparse reads them; None when it printed the help."""
    first = next((a for a in argv if not a.startswith("-")), None)
    wants_help = any(a in ("-h", "--help") for a in argv) and first is None
    parser = build_parser(first if first in COMMANDS and not wants_help else None)
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        if "arguments are required" in str(exc) and any(a.startswith("-") and a != "--" for a in argv[1:]):
            # `tether note note "--out=x"`: argparse took the text for an option
            exc.hint = f"{exc.hint}; a value that begins with '-' goes after `--` (e.g. tether note note -- \"--out=x\")"
        if first in COMMANDS and "unrecognized arguments" in str(exc):  # found by the top parser
            words = [a for a in argv if not a.startswith("-")]
            command = " ".join(words[:2] if first in GROUPS and len(words) > 1 else words[:1])
            exc.hint = f"run `tether {command} --help`"
            extra = str(exc).partition(":")[2].split()
            if extra and not any(word.startswith("-") for word in extra):
                # several values after one option, or a value of several words unquoted
                exc.hint = (f"an option takes one value: repeat it for each (`--done 1 --done 2`, or `--done 1,2`),"
                            f" and quote a value with spaces; `tether {command} --help` lists the options")
        raise
    if not getattr(args, "command", None):
        if want_json:  # one JSON object, as promised, not the help text
            raise UsageError("no command given", hint="run `tether --help` to see the commands")
        parser.print_help()
        return None
    return args


def quick_args(argv: list[str]):
    """The commands agents and hooks run most, in their plain forms, read as argparse reads them
    without loading argparse (its import and the parser's build are a large part of their
    start-up): ``tether checkpoint`` and ``tether recall QUERY...`` with their options as
    ``--option VALUE`` (and ``--json``), ``tether audit`` with its switches (_quick_audit).
    None for anything else (another command, an abbreviation, ``--option=VALUE``, ``-C``, help, a
    value that starts with '-' or is not of the option's type or choices, a word that is no
    option): argparse reads those, and says what is wrong with them."""
    command = argv[:1]
    if command == ["audit"]:
        return _quick_audit(argv[1:])
    if command == ["checkpoint"]:
        from .task_commands import CHECKPOINT_OPTIONS as options, cmd_checkpoint as handler
        words, positional = argv[1:], None
    elif command == ["recall"]:
        from .recall_commands import RECALL_OPTIONS as options, cmd_recall as handler
        # The query's words first, then options: argparse takes a query split by options otherwise.
        first = next((i for i, w in enumerate(argv[1:], 1) if w[:1] == "-"), len(argv))
        words, positional = argv[first:], ("query", argv[1:first])
        if not positional[1]:
            return None
    else:
        return None
    known = {flag: (flags[0][2:].replace("-", "_"), opts) for flags, opts in options for flag in flags}
    values = {dest: opts.get("default") for dest, opts in known.values()}
    if positional is not None:
        values[positional[0]] = positional[1]
    words = iter(words)
    for word in words:
        if word == "--json":
            values["json"] = True
            continue
        dest, opts = known.get(word, (None, None))
        value = next(words, None)
        if dest is None or value is None or value[:1] == "-" or value not in opts.get("choices", (value,)):
            return None
        if opts.get("type") is int:
            if not value.isascii() or not value.strip().lstrip("+-").isdigit():
                return None  # argparse's own message for it
            value = int(value)
        if opts.get("action") == "append":
            values[dest] = [*(values[dest] or []), value]
        else:
            values[dest] = value
    import types

    return types.SimpleNamespace(command=command[0], handler=handler, **values)


AUDIT_FLAGS = ("--fix", "--strict", "--full", "--json")


def _quick_audit(words: list[str]):
    """``tether audit`` with only its switches (as the pre-commit hook runs it), read without
    argparse; None for anything else (``--skip``, help, a typo), which argparse reads."""
    if any(w not in AUDIT_FLAGS for w in words) or len(set(words)) != len(words):
        return None
    import types

    from .audit_commands import cmd_audit

    switches = {flag[2:]: flag in words for flag in AUDIT_FLAGS if flag != "--json"}
    if "--json" in words:  # as argparse leaves it: set only when given
        switches["json"] = True
    return types.SimpleNamespace(command="audit", handler=cmd_audit, skip=None, **switches)




def _check_utf8(argv: list[str], position: int) -> None:
    """Refuse an argument that is not UTF-8 here, at the edge: Python hands it on as text with lone
    surrogates in place of the bad bytes, which no record, log line or output can hold."""
    arg = argv[position]
    try:
        arg.encode("utf-8")
        return
    except UnicodeEncodeError:
        pass
    try:
        raw = arg.encode("utf-8", "surrogateescape")  # the bytes the shell passed
    except UnicodeEncodeError:
        raw = arg.encode("utf-8", "backslashreplace")
    option = argv[position - 1] if position and argv[position - 1].startswith("-") else None
    which = f"the value of {option}" if option else f"argument {position + 1}"
    from ..errors import InvalidInput

    raise InvalidInput(f"{which} is not valid UTF-8: '{repr(raw)[2:-1]}'",
                       hint="tether keeps text as UTF-8: convert it (e.g. `iconv -f latin1 -t utf-8`) or type it again")


def _mended() -> list[str]:
    """The torn log lines this command repaired on its way (appendlog.mended), said once, here."""
    appendlog = sys.modules.get("tether.store.appendlog")
    if appendlog is None or not appendlog.mended:
        return []
    from ..core.repair import describe_mended

    lines = [describe_mended(r, _shown_path(r["path"]), os.getcwd()) for r in appendlog.mended]
    appendlog.mended.clear()
    return lines


def _shown_path(path) -> str:
    """A path as the user can use it: relative to the working directory when it is under it."""
    path = os.fsdecode(path)
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith("..") else rel


def _change_directory(directory: str) -> None:
    try:
        os.chdir(directory)
    except OSError as exc:
        from ..errors import InvalidInput

        raise InvalidInput(f"cannot run in {directory}: {exc.strerror}", hint="give -C an existing directory") from None


def _emit(command: str, data: dict, text: str, exit_code: int, want_json: bool) -> int:
    repaired = _mended()
    if want_json:
        import json

        payload = {"ok": exit_code in (EXIT_OK, EXIT_DEGRADED, EXIT_REFUSED), "schema_version": SCHEMA_VERSION,
                   "command": command, **data}
        if repaired:
            payload["repaired_logs"] = repaired
        try:
            sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
        except UnicodeEncodeError:  # a lone surrogate (a message list's "\ud800"), or a stdout not UTF-8
            sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")  # escaped: the same JSON
    else:
        if text:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        for line in repaired:
            sys.stderr.write(f"Repaired: {line}\n")
    return exit_code


def _warm_boot(rest: list[str], want_json: bool) -> int | None:
    """``tether boot [--json] [--budget N]`` without argparse: from the boot cache, else by reading
    the files (the arguments are read already); None: take the full path."""
    budget = None
    options = iter(rest)
    for arg in options:
        if arg == "--json":
            continue
        if arg == "--budget" or arg.startswith("--budget="):
            value = arg[9:] if "=" in arg else next(options, "")
            if not (value.isascii() and value.isdigit()) or int(value) < 100:
                return None  # the full path says what is wrong with it
            budget = int(value)
            continue
        return None
    from ..core.brief import from_cache
    from ..store import locate

    root = locate.find_root(os.getcwd())
    if root is None:
        return None
    # the session asking, as Workspace.session_id has it (workspace.session_from_environment), unloaded
    session = os.environ.get("TETHER_SESSION_ID") or os.environ.get("CODEX_THREAD_ID") or None
    brief = from_cache(root, os.path.join(root, locate.STORE_DIR), budget, None, session)
    if brief is None:
        from ..workspace import Workspace

        brief = Workspace.open().boot(budget=budget, warm=False)
    return _emit("boot", brief.to_dict(), brief.text, EXIT_DEGRADED if brief.degraded else EXIT_OK, want_json)


def _command_of(argv: list[str]) -> str | None:
    """The command an argument list names, as a success's JSON says it (None: none known)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "-C":
            skip = True  # its directory
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _fail(error: TetherError, want_json: bool, argv: list[str] | None = None) -> int:
    repaired = _mended()
    if want_json:
        import json

        payload = {"ok": False, "schema_version": SCHEMA_VERSION, "command": _command_of(argv or []),
                   **error.to_dict()}
        if repaired:
            payload["repaired_logs"] = repaired
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"Error: {error}\n")
        for reason in getattr(error, "reasons", None) or []:
            sys.stderr.write(f"  - {reason}\n")
        if error.hint:
            sys.stderr.write(f"Hint: {error.hint}\n")
        for line in repaired:
            sys.stderr.write(f"Repaired: {line}\n")
    return error.exit_code


def run() -> None:
    sys.exit(main())
