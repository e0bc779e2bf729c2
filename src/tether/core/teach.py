"""What the brief teaches the agent: what tether is and the commands that keep it current.

The text adapts to the active task: a task with items or steps is checkpointed with
``--done`` ranges; a free-form task has no units, so only ``--state`` and ``--next``
work for it. A project replaces this text, or extends it, with ``.tether/PRIME.md``
(see ``lines``).
"""

from __future__ import annotations

MARK = "<!-- tether:teach -->"  # a line of PRIME.md where the generated text goes

INTRO = ("tether keeps this session tethered to the repository: tasks, checkpoints, decisions and context"
         " entries live in `.tether/`, and the next session boots from them. Keep them current as you work:")


def generated(task_id: str | None, unit: str | None, next_number: int | None) -> list[str]:
    """The generated lines, for the active task (None: no task is open)."""
    if task_id is None:
        progress = ['- Start the work as a task: `tether task start "Title" --steps "..." --criteria "..."`.']
    elif unit:
        first = next_number or 1
        progress = [f"- After each {unit} or few: `tether checkpoint --done {first} --state \"where it stands\""
                    f" --next \"what comes next\"` (ranges work: `--done {first}-{first + 2}`)."]
    else:  # free-form: no units to mark done
        progress = ['- After each step of the work: `tether checkpoint --state "where it stands" --next "what'
                    ' comes next"` (this task has no items or steps, so no `--done`).']
    finish = (f"- When {task_id} meets its success criteria: `tether task complete {task_id}`."
              if task_id else "- Mark a task done with `tether task complete ID`.")
    return [INTRO, *progress,
            '- A trap found: `tether note gotcha "..."`; something never to do: `tether note dont "..."`;'
            ' a blocker: `tether note blocker "..."` (add `--task ID` to retire it with that task).',
            '- A choice made: `tether decide "Question?" --decision "answer" --rationale "why"`.',
            "- An entry that no longer applies: `tether note resolve ID` (ids are shown in brackets).",
            finish,
            '- End the session: `tether close --summary "what was done" --next "what comes next" --commit`.']


def lines(prime: bytes | None, task_id: str | None, unit: str | None, next_number: int | None) -> list[str]:
    """The section's lines: ``prime`` (PRIME.md's bytes) replaces the generated text, or, where it
    has a line that is exactly MARK, holds it there."""
    text = generated(task_id, unit, next_number)
    if prime is None:
        return text
    own = prime.decode("utf-8", "replace").splitlines()
    while own and not own[-1].strip():
        own.pop()
    if MARK not in (line.strip() for line in own):
        return own
    out: list[str] = []
    for line in own:
        out.extend(text if line.strip() == MARK else [line])
    return out
