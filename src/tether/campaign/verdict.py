"""The answer of a scope or budget check: ALLOWED or BLOCKED, and why."""

from __future__ import annotations

from ..model.record import REQUIRED, Record


class Verdict(Record):
    """``allowed``; ``reason`` (one sentence); ``rule`` (the text or field that decided it);
    ``action`` (what to do next); ``facts`` (figures behind it)."""

    FIELDS = {"allowed": REQUIRED, "reason": "", "rule": "", "action": "", "facts": dict}

    @property
    def result(self) -> str:
        return "ALLOWED" if self.allowed else "BLOCKED"

    def to_dict(self) -> dict:
        return {"result": self.result, "reason": self.reason, "rule": self.rule, "action": self.action,
                **({"facts": self.facts} if self.facts else {})}

    def text(self) -> str:
        lines = [f"{self.result}: {self.reason}"]
        if self.rule:
            lines.append(f"  rule: {self.rule}")
        if self.action:
            lines.append(f"  action: {self.action}")
        return "\n".join(lines)
