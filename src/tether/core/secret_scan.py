"""What ``tether close --commit`` is about to commit that looks like a secret.

tether writes what a session tells it (a checkpoint's note, a decision, a summary)
into several files at once: a token pasted into a note reaches the checkpoint, its
journal, the context document and the commit. Before committing, close scans the
lines the commit adds and its message with detect-secrets (Yelp's, its default
plugins and filters) and reports each finding as ``path:line: type``, never the
secret itself. The commit still happens: a finding is a warning (see
docs/reference.md, `tether close`).

A false positive is allowed by its hash (``[secrets] allow`` in ``tether.toml``):
the SHA-1 of the text the detector matched, as detect-secrets' baselines hash
secrets, but of the whole match (detect-secrets keeps only ``ghp`` of a GitHub
token, which would allow every one).

detect-secrets is slow to import (it loads requests), so it is loaded here, and this
module only by a close that commits.
"""

from __future__ import annotations

import hashlib
import re

from ..model.record import REQUIRED, Record

MESSAGE = "(commit message)"
# The detectors that take any long random-looking string for a secret: in tether's own records,
# its digests (store.formats.own_digests) are left out of what they find.
ENTROPY = ("HexHighEntropyString", "Base64HighEntropyString")
# A full git object id: what tether itself records (a close's commit) and people quote.
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class Finding(Record):
    FIELDS = {"path": REQUIRED, "line": REQUIRED, "type": REQUIRED, "hash": REQUIRED}

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.type} (hash {self.hash})" if self.hash else f"{where}: {self.type}"


def scan(root: str, added: dict[str, list[tuple[int, str]]], message: str, allowed=(), generated=None) -> list[Finding]:
    """Findings in ``added`` (path -> its added lines, numbered as in the file) and in ``message``,
    less those whose hash is ``allowed``, the git object ids of this repository, and the digests
    tether writes in its own records (an anchor's blob id, a cached file's sha256). In the files
    ``generated(path)`` names (what tether writes itself: hashes, archived transcripts with their
    signatures), the detectors the redactor leaves out too (high entropy strings, public IPs) are
    not asked: there they find only tether's own digests; the pattern and keyword ones still are."""
    from ..compaction.redact import SKIPPED, detected  # the redactor's own list and reading of detect-secrets
    from ..store.formats import own_digests

    try:
        import detect_secrets.core.scan  # noqa: F401 - what `detected` runs: missing, the scan is not run
        from detect_secrets.settings import default_settings, get_plugins
    except ImportError:
        return [Finding(path="(secret scan)", line=None, type="not run: detect-secrets is not installed"
                        " (pip install 'detect-secrets>=1.5,<1.6')", hash=None)]
    allowed = {str(h).strip().lower() for h in allowed}
    sources = {**added, MESSAGE: list(enumerate(message.splitlines(), 1))}
    found: list[tuple[Finding, str]] = []
    redactor = None
    with default_settings():
        plugins = {plugin.secret_type: plugin for plugin in get_plugins()}
        for path, numbered in sources.items():
            quiet = generated is not None and path != MESSAGE and generated(path)
            if quiet:
                # What tether generated (an archived transcript: megabytes) is read as the redactor
                # reads it: only the lines its pre-filter keeps, which hold all that the detectors
                # it asks could flag (tests/test_redaction_prefilter.py), told they are text as
                # it tells them. detect-secrets reads about half a megabyte a second.
                from ..compaction.redact import SCANNED_AS, Redactor

                redactor = redactor or Redactor()
                numbered = [numbered[k] for k in redactor.candidate_lines("\n".join(t for _, t in numbered))]
            # Numbered 1..n for detect-secrets, whose context (the lines around a finding) is by
            # position: the added lines are each other's neighbours (appended log lines are).
            dense = [(i, text) for i, (_, text) in enumerate(numbered, 1)]
            for secret in detected(dense, SCANNED_AS if quiet else path):
                kind = plugins.get(secret.type).__class__.__name__
                if quiet and kind in SKIPPED:
                    continue
                line, text = numbered[secret.line_number - 1]
                value = _whole_match(plugins.get(secret.type), text, secret.secret_value or "")
                if kind in ENTROPY and path != MESSAGE and value in own_digests(text):
                    continue  # an anchor's blob id, a cached file's sha256: tether's, not a secret
                digest = hashlib.sha1(value.encode("utf-8")).hexdigest()
                if digest not in allowed:
                    found.append((Finding(path=path, line=line, type=secret.type, hash=digest), value))
    from ..compaction.redact import own  # tether's own detectors: secret-named variables, token formats

    for path, numbered in sources.items():
        for line, text in numbered:
            for start, end, kind in own(text):
                value = text[start:end]
                digest = hashlib.sha1(value.encode("utf-8")).hexdigest()
                if digest not in allowed:
                    found.append((Finding(path=path, line=line, type=kind, hash=digest), value))
    ids = _object_ids(root, {value for _, value in found if _OBJECT_ID.fullmatch(value)})
    unique: dict[tuple, Finding] = {}
    for finding, value in found:
        if value not in ids:
            unique.setdefault((finding.path, finding.line, finding.type, finding.hash), finding)
    return list(unique.values())


def _whole_match(plugin, line: str, value: str) -> str:
    """The text a detector's pattern matched, of which ``value`` is the part detect-secrets kept."""
    for pattern in getattr(plugin, "denylist", ()) or ():
        for match in pattern.finditer(line):
            if value in match.group(0):
                return match.group(0)
    return value


def _object_ids(root: str, candidates: set[str]) -> set[str]:
    """Those of ``candidates`` that name objects of the repository: a commit id in LATEST.json or a
    note looks like a hex secret to detect-secrets, but is not one."""
    from ..errors import GitProblem
    from ..gitio.objects import existing

    try:
        return existing(root, candidates)
    except GitProblem:
        return set()
