"""What a brief says about the commit in use: its title, the state line, the plan's review step
(and, rendered at the same moment, the long-break section, which depends on the time: core.long_break).

They are rendered from four values (source, sha, branch, changed) each time a brief is
rendered, cold or warm, and nothing else in the brief depends on the commit. So when HEAD
moves and tether's files did not (a commit of code, a checkout of a branch with the same
files), a warm boot only works out which files now differ from HEAD and renders these anew
(warm.brief_cache.load).
"""

from __future__ import annotations

REVIEW_STEP = "Review tether's uncommitted changes (`git status .tether`) and commit or close them."


def title(data: dict) -> str:
    where = f"commit {data['sha'][:12]}" if data["sha"] else "no commits yet"
    return f"# tether boot: {where}" + (f" on {data['branch']}" if data["branch"] else "")


def state_line(data: dict) -> str:
    changed = data["changed"]
    if data["source"] == "commit":
        return "Reconstructed from the commit's tree (git objects, no checkout)."
    if changed is None:
        return "Could not compare tether's files with HEAD."
    if changed:
        shown = ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else "")
        many = len(changed) != 1
        return (f"tether's files differ from HEAD: {len(changed)} of the files this brief was built from"
                f" {'are' if many else 'is'} changed or uncommitted ({shown}; see `git status .tether`).")
    return "tether's files match HEAD (every file this brief was built from is committed)."


def plan(data: dict, steps: list[str]) -> list[str]:
    """The numbered plan: ``steps`` with the review step after the repair one when files differ."""
    steps = list(steps)
    if data["changed"]:
        steps.insert(1 if data["problems"] else 0, REVIEW_STEP)
    return [f"{i}. {s}" for i, s in enumerate(steps, 1)]


def apply(content: dict) -> dict:
    """``content`` (brief.to_content's) with its title and commit-dependent lines rendered from its data."""
    data = content["data"]
    sections = []
    for key, heading, lines, priority, more, hidden, head in content["sections"]:
        if key == "state":
            lines = [state_line(data)]
        elif key == "plan":
            lines = plan(data, lines)
        elif key == "long_break":  # depends on the moment, not on the files: rendered now
            from .long_break import render

            heading, lines = render(data, lines)
        sections.append((key, heading, lines, priority, more, hidden, head))
    return {**content, "title": title(data), "sections": sections}
