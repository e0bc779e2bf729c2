"""`tether compact`, `tether show`, `tether pin`, `tether unpin`: one call on the compaction facade each."""

from __future__ import annotations

import os
import sys

from ..errors import EXIT_DEGRADED, EXIT_OK, InvalidInput
from .output import Result, problems_hint, read_input, utf8_text


def _write_bytes(data: bytes) -> None:
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text stream put in its place (tests, embedding)
        sys.stdout.write(data.decode("utf-8", "surrogateescape"))
    else:
        buffer.write(data)
    sys.stdout.flush()


def _compactor(args, **kw):
    from ..compaction.api import Compactor
    from ..workspace import Workspace

    return Compactor(Workspace.open(), **kw)


def _read_input(name: str | None) -> tuple[bytes, str]:
    return read_input(name or "-", "give a message list file (JSON or JSON Lines), or - for stdin")


def _check_output(name: str) -> None:
    """Refuse an -o the compacted list cannot be written to: a folder, a file in a folder that is
    not there (it is not made) or cannot be written, or something other than a regular file
    (a device, a pipe: written into, see fsio.write_named) that cannot be written."""
    path = os.path.realpath(name)
    parent = os.path.dirname(path)
    # Asked of the name (links followed), not its realpath: /dev/stdout's names a pipe no path reaches.
    special = os.path.exists(name) and not os.path.isfile(name) and not os.path.isdir(name)
    why = ("is a folder" if os.path.isdir(name)
           else (f"{name} cannot be written" if not os.access(name, os.W_OK) else None) if special
           else f"{parent} is not a folder" if not os.path.isdir(parent)
           else f"{parent} cannot be written" if not os.access(parent, os.W_OK | os.X_OK) else None)
    if why:
        raise InvalidInput(f"-o {name}: {why}", hint="name a file in an existing folder you can write;"
                                                     " nothing was compacted")


def _warn(args, problems) -> int:
    """The pins log's lines a command left out, one warning each on stderr (the JSON has them in
    ``problems``), as `tether usage` warns; the exit code: degraded when there is one."""
    if problems and not getattr(args, "json", False):
        sys.stderr.write("".join(f"Warning: {p}\n" for p in problems) + f"Hint: {problems_hint(problems)}\n")
    return EXIT_DEGRADED if problems else EXIT_OK


def _text_file(name: str) -> str:
    data, shown = read_input(name, "give --summary-file a UTF-8 text file with the summary", what="the summary file ")
    return utf8_text(data, shown, "save the summary as UTF-8")


def cmd_compact(args) -> Result:
    from ..compaction import messages

    tiers = sorted({t for group in args.tier or [] for t in group})
    compactor = _compactor(args, threshold=args.threshold, input_limit=args.input_limit, keep_recent=args.keep,
                           redact=False if args.no_redact else None, exact=True if args.exact else False,
                           model=args.model, window=args.window)
    data, shown = _read_input(args.messages)
    doc = messages.parse(data, shown)
    if args.output:
        _check_output(args.output)  # before anything is compacted and recorded
    summary = _text_file(args.summary_file) if args.summary_file else None
    if summary is None and compactor.summariser_command and (3 in tiers or not tiers):
        from .summariser import command_summariser

        compactor.summariser = command_summariser(compactor.summariser_command, compactor.workspace.root_dir)
    done = compactor.compact(doc, tiers or None, summary=summary)
    out = messages.dump(done.document)
    if args.output:
        from ..store.fsio import write_named

        try:
            write_named(args.output, out)
        except OSError as exc:
            raise InvalidInput(f"cannot write {args.output}: {exc.strerror}",
                               hint="the compaction is recorded; run it again with -o naming a file you can write"
                                    " (nothing new is stored: its pieces are kept by content)") from None
    report = done.report
    data = {"report": report, "output": args.output}
    text = _report_text(report, args.output)
    if not args.output and not getattr(args, "json", False):
        _write_bytes(out)
        sys.stderr.write(text + "\n")
        text = ""
    if getattr(args, "json", False) and not args.output:
        data["messages"] = done.output()
    return Result(data=data, text=text, exit_code=_warn(args, compactor.pin_problems))


def _report_text(report: dict, output: str | None) -> str:
    state = report["state"]
    # Every string of the list, roles and ids included (what the model is sent), as `tether usage` counts it.
    lines = [f"Context: {state['tokens']:,} of {state['window']:,} tokens ({state['percent']}%), {state['state']}"
             f" ({state['method']}, every string of the list)"]
    if report.get("note"):
        lines.append(f"Nothing done: {report['note']}.")
    for tier in report["tiers"]:
        n = len(tier.get("offloaded", ()))
        what = {1: f"tool result{'s' if n != 1 else ''} offloaded", 2: f"tool input{'s' if n != 1 else ''} truncated",
                3: "summary"}[tier["tier"]]
        if tier["tier"] == 3:
            what = (f"{tier.get('summarised_messages', 0)} messages summarised ({tier.get('summary_source', '-')}),"
                    f" {tier.get('kept_messages', 0)} kept")
            if tier.get("archive"):
                what += f"; archive {tier['archive']}"
            if tier.get("checkpoint"):
                what += f"; checkpoint {tier['checkpoint']}"
            if tier.get("note"):
                what += f" ({tier['note']})"
        else:
            what = f"{n} {what}"
        n = tier.get('redactions', 0)
        redacted = f", {n} secret{'s' if n != 1 else ''} redacted" if n else ""
        lines.append(f"Tier {tier['tier']}: {tier['tokens_before']:,} -> {tier['tokens_after']:,} tokens; {what}{redacted}")
        for item in tier.get("offloaded", []):
            lines.append(f"  {item['ref']}  {item['kind']}, {item['tokens']:,} tokens, {item['bytes']:,} bytes")
    if report["tiers"]:
        lines.append(f"Total: {report['tokens_before']:,} -> {report['tokens_after']:,} tokens"
                     + (f"; {len(report['pins'])} pin{'s' if len(report['pins']) != 1 else ''} re-injected"
                        if report["pins"] else ""))
    if output:
        lines.append(f"Wrote {output}")
    return "\n".join(lines)


def cmd_show(args) -> Result:
    compactor = _compactor(args)
    data = compactor.show(args.ref)
    if getattr(args, "json", False):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        return Result(data={"ref": args.ref, "bytes": len(data), "text": text})
    _write_bytes(data)
    return None


def cmd_pin(args) -> Result:
    compactor = _compactor(args)
    if args.list:
        if args.text:
            raise InvalidInput("--list takes no text", hint="run `tether pin --list` alone")
        pins = compactor.pins()
        problems = compactor.pin_problems
        lines = [f"{p['id']}  {p['text']}" for p in pins] or ["No pins. Add one: tether pin \"TEXT\""]
        return Result(data={"pins": pins, "problems": [p.to_dict() for p in problems]}, text="\n".join(lines),
                      exit_code=_warn(args, problems))
    if not args.text:
        raise InvalidInput("nothing to pin", hint='tether pin "TEXT", or tether pin --list')
    pin = compactor.pin(" ".join(args.text))
    return Result(data={"pin": pin}, text=f"Pinned {pin['id']}: {pin['text']}")


def cmd_unpin(args) -> Result:
    compactor = _compactor(args)
    pin = compactor.unpin(args.id)
    problems = compactor.pin_problems
    return Result(data={"unpinned": pin, "problems": [p.to_dict() for p in problems]},
                  text=f"Unpinned {pin['id']}: {pin['text']}", exit_code=_warn(args, problems))


def register(sub, add) -> None:
    def tiers(value: str) -> list[int]:
        out = []
        for part in value.split(","):
            part = part.strip()
            if part not in ("1", "2", "3"):
                import argparse

                raise argparse.ArgumentTypeError(f"{value!r}: tiers are 1, 2 and 3")
            out.append(int(part))
        return out

    p = add(sub, "compact", cmd_compact, "Compact a message list (OpenAI or Anthropic chat format) in seed 001's tiers;"
                                          " what is taken out goes to .tether/cache/.")
    p.add_argument("messages", nargs="?", metavar="MESSAGES", help="the message list: JSON array, object with"
                   " \"messages\", or JSON Lines (default: stdin)")
    p.add_argument("--tier", action="append", type=tiers, metavar="N", help="apply tier N (1, 2 or 3; repeatable, or"
                   " 1,2); default: the tiers the context's state calls for")
    p.add_argument("-o", "--output", metavar="OUT", help="write the compacted list here (default: stdout, the report"
                   " on stderr)")
    p.add_argument("--threshold", type=int, metavar="TOKENS", help="tier 1: offload tool results over this many"
                   " tokens (default 15000, or [compaction] threshold)")
    p.add_argument("--input-limit", type=int, metavar="TOKENS", help="tier 2: truncate tool input strings over this"
                   " many tokens (default 2000)")
    p.add_argument("--keep", type=int, metavar="N", help="tier 3: keep the last N messages verbatim (default 4)")
    p.add_argument("--summary-file", metavar="FILE", help="tier 3: use this text as the summary ('-' for stdin)")
    p.add_argument("--no-redact", action="store_true", help="store offloaded content without redacting secrets")
    p.add_argument("--exact", action="store_true", help="count tokens with tiktoken (default: the fast estimate)")
    p.add_argument("--model", help="the model, for its context window (default: the request's \"model\")")
    p.add_argument("--window", type=int, metavar="TOKENS", help="the context window, in tokens")
    p = add(sub, "show", cmd_show, "Print the exact bytes a compaction stored under REF (secrets redacted).")
    p.add_argument("ref", metavar="REF", help="a reference from a stub or report, e.g. offloaded/3f2a9c41e0b1")
    p = add(sub, "pin", cmd_pin, "Pin a keep-hint that every compaction keeps verbatim; --list shows the pins.")
    p.add_argument("text", nargs="*", metavar="TEXT")
    p.add_argument("--list", action="store_true", help="list the pins in force")
    p = add(sub, "unpin", cmd_unpin, "Remove a pin (by its id, or a unique prefix of it).")
    p.add_argument("id", metavar="ID")
