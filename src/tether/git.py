"""A thin wrapper around the ``git`` command line.

Stdlib only and nothing heavy at import time: the CLI imports this on every run.
Hot paths (HEAD, branch) read ``.git`` files directly and skip the subprocess.
Commits go through plumbing with a private index, so the user's staging area,
hooks and worktree are never disturbed.
"""

from __future__ import annotations

import os
TYPE_CHECKING = False  # not `from typing import ...`: typing costs 3 ms at start-up

if TYPE_CHECKING:  # subprocess and pathlib are imported lazily: the .git fast paths never need them
    import subprocess
    from pathlib import Path

_HEX = frozenset("0123456789abcdef")


class GitError(Exception):
    """A git command failed; str(e) is one clear line; attribute .hint may give a fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    # C locale so error text is stable to match; never block on a credential prompt.
    return {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", **(extra or {})}


def _run(root: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
         check: bool = True) -> subprocess.CompletedProcess:
    import subprocess

    try:
        proc = subprocess.run(["git", "-C", str(root), *args], input=input, capture_output=True,
                              env=_env(env), stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError("git executable not found", hint="install git") from None
    if check and proc.returncode != 0:
        _fail(proc, args[0])
    return proc


def _query(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    """A read-only git command's exit code, output and errors, without the subprocess module:
    its imports (signal, threading, selectors, locale) cost a boot more than the git process."""
    if not hasattr(os, "posix_spawnp"):
        proc = _run(root, *args, env=env, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    out_r, out_w = os.pipe()  # not inherited: only the copies made on 1 and 2 reach git
    err_r, err_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        pid = os.posix_spawnp("git", ["git", "-C", str(root), *args], _env(env), file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
    except FileNotFoundError:
        os.close(out_r)
        os.close(err_r)
        raise GitError("git executable not found", hint="install git") from None
    finally:
        for fd in (out_w, err_w, devnull):
            os.close(fd)
    try:
        out = _drain(out_r)  # then errors: a message, which the pipe holds meanwhile
        err = _drain(err_r)
    finally:
        os.close(out_r)
        os.close(err_r)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), out, err


def _drain(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _fail(proc: subprocess.CompletedProcess, what: str) -> None:
    _fail_with(proc.stderr, what)


def _fail_with(stderr: bytes, what: str) -> None:
    """Raise with the first meaningful line of git's stderr."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    line = lines[0].removeprefix("fatal: ").removeprefix("error: ") if lines else "unknown error"
    raise GitError(f"git {what} failed: {line}")


def _out(root: Path, *args: str, **kw) -> str:
    return _run(root, *args, **kw).stdout.decode("utf-8", "surrogateescape").strip()


def _is_sha(s: str) -> bool:
    return len(s) in (40, 64) and set(s) <= _HEX  # SHA-1 or SHA-256 repositories


# --- fast paths: read .git directly ------------------------------------------------

def _read(path: str) -> str | None | bool:
    """File text; None if absent; False if unreadable (then we ask git instead)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):  # also: .git is a file (worktree, submodule)
        return False


def _read_head(root: Path) -> tuple[str, str] | None:
    """('ref', name) or ('sha', sha) from .git/HEAD; None when not simple to read."""
    data = _read(os.path.join(root, ".git", "HEAD"))
    if not data:
        return None
    data = data.strip()
    if data.startswith("ref: "):
        ref = data[5:].strip()
        # reftable repositories point HEAD at this placeholder; the real refs are binary.
        return None if ref == "refs/heads/.invalid" else ("ref", ref)
    return ("sha", data) if _is_sha(data) else None


def _ref_sha(root: Path, ref: str) -> str | None | bool:
    """SHA of a ref from loose or packed refs; None if unborn; False means "ask git"."""
    loose = _read(os.path.join(root, ".git", ref))
    if loose is not None:  # a symref chain or odd content is left to git
        return loose.strip() if loose and _is_sha(loose.strip()) else False
    packed = _read(os.path.join(root, ".git", "packed-refs"))
    for line in (packed or "").splitlines():
        sha, _, name = line.partition(" ")  # "#" header and "^" peeled lines never match
        if name == ref:
            return sha if _is_sha(sha) else False
    return False if packed is False else None  # no loose and no packed ref: unborn branch


def head_sha(root: Path) -> str | None:
    head = _read_head(root)
    if head is not None:
        sha = head[1] if head[0] == "sha" else _ref_sha(root, head[1])
        if sha is not False:
            return sha
    return _run_or_none(root, "rev-parse", "-q", "--verify", "HEAD^{commit}")  # None: unborn


def current_branch(root: Path) -> str | None:
    head = _read_head(root)
    if head is not None:
        return head[1].removeprefix("refs/heads/") if head[0] == "ref" else None
    return _run_or_none(root, "symbolic-ref", "-q", "--short", "HEAD")  # None: detached


def _run_or_none(root: Path, *args: str) -> str | None:
    """Output of a `-q` query, None when it answers "no" (exit 1); other failures raise."""
    proc = _run(root, *args, check=False)
    if proc.returncode not in (0, 1):
        _fail(proc, args[0])
    return proc.stdout.decode("utf-8", "surrogateescape").strip() if proc.returncode == 0 else None


def resolve_commit(root: Path, rev: str) -> str:
    # A leading "-" would be parsed as an option; a newline can never name a commit.
    ok = bool(rev) and not rev.startswith("-") and "\n" not in rev
    proc = _run(root, "rev-parse", "-q", "--verify", f"{rev}^{{commit}}", check=False) if ok else None
    if proc is None or proc.returncode != 0:
        raise GitError(f"not a commit: {rev}", hint="run `git rev-parse HEAD` to get a valid SHA")
    return proc.stdout.decode().strip()


# --- status and committing -----------------------------------------------------------

def _specs(pathspec: str | list[str]) -> list[str]:
    return [pathspec] if isinstance(pathspec, str) else list(pathspec)


_STATUS = ("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")


def _parse_status(raw: bytes) -> list[str]:
    # Entries are "XY path"; --no-renames means no second "source" field follows.
    out = raw.decode("utf-8", "surrogateescape")
    return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})


def changed_paths(root: Path, pathspec: str | list[str]) -> list[str]:
    return _parse_status(_run(root, *_STATUS, "--", *_specs(pathspec)).stdout)


def tree_entries(root: Path, rev: str, specs: list[str]) -> dict[str, str]:
    """Blob ids in ``rev``'s tree: of each path in ``specs``, and of every file directly in
    each directory given with a trailing "/". Paths are repo-relative and taken literally."""
    if not specs:
        return {}
    code, out, err = _query(root, "ls-tree", "-z", "--full-tree", rev, "--", *specs, env={"GIT_LITERAL_PATHSPECS": "1"})
    if code != 0:
        _fail_with(err, "ls-tree")
    oids = {}
    for entry in out.decode("utf-8", "surrogateescape").split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            oids[path] = parts[2]
    return oids


def same_tree(root: Path, rev_a: str, rev_b: str, path: str) -> bool:
    """Whether ``path`` names the same tree in both commits (False when either lacks it)."""
    code, out, _ = _query(root, "rev-parse", f"{rev_a}:{path}", f"{rev_b}:{path}")
    ids = out.split()
    return code == 0 and len(ids) == 2 and ids[0] == ids[1]


def blob_oid(data: bytes, sha256: bool = False) -> str:
    """The id git gives a blob with this content."""
    import hashlib

    digest = hashlib.sha256 if sha256 else hashlib.sha1
    return digest(b"blob %d\0" % len(data) + data).hexdigest()


def _git_dir(root: Path) -> str:
    gd = os.path.join(root, ".git")
    return gd if os.path.isdir(gd) else _out(root, "rev-parse", "--absolute-git-dir")


def _message(message: str, trailers: dict[str, str]) -> bytes:
    body = message.strip()
    for i, (key, value) in enumerate(trailers.items()):
        # A colon, space or newline in a key (or newline in a value) would break the block.
        if not key or any(c in key for c in ": \n\r") or "\n" in value or "\r" in value:
            raise GitError(f"invalid commit trailer: {key!r}")
        body += ("\n\n" if i == 0 else "\n") + f"{key}: {value}"
    return (body + "\n").encode("utf-8")


def commit_paths(root: Path, pathspec: str | list[str], message: str, trailers: dict[str, str],
                 inspect=None) -> str | None:
    """Commit what ``pathspec`` matches, alone; None when nothing changed. ``inspect(added, message)``
    sees what the commit adds before it is made: {path: [(line number, text)]} and the message."""
    if not changed_paths(root, pathspec):
        return None  # cheap exit, and keeps `git add` away from a pathspec matching nothing
    msg = _message(message, trailers)  # validate before writing any object
    old = head_sha(root)
    # A private index inside .git: the user's staging area is never read or written here.
    idx = os.path.join(_git_dir(root), f"tether-index-{os.getpid()}-{os.urandom(4).hex()}")
    env = {"GIT_INDEX_FILE": str(idx)}
    try:
        _run(root, "read-tree", *([old] if old else ["--empty"]), env=env)
        proc = _run(root, "add", "-A", "--", *_specs(pathspec), env=env, check=False)
        if proc.returncode != 0:
            if b"did not match any files" in proc.stderr:  # e.g. only a staged-then-deleted file
                return None
            _fail(proc, "add")
        if inspect is not None:
            base = old or _out(root, "mktree", input=b"")
            inspect(added_lines(root, base, env), msg.decode("utf-8"))
        tree = _out(root, "write-tree", env=env)
    finally:
        for p in (idx, idx + ".lock"):
            if os.path.exists(p):
                os.unlink(p)
    base = _out(root, "rev-parse", f"{old}^{{tree}}") if old else _out(root, "mktree", input=b"")
    if tree == base:
        return None  # e.g. the real index differed from HEAD but the worktree does not

    proc = _run(root, "commit-tree", tree, *(["-p", old] if old else []), input=msg, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        if "ident" in err or "tell me who you are" in err or "auto-detect" in err:
            raise GitError("git author identity is not configured",
                           hint="set git config user.name and user.email")
        _fail(proc, "commit-tree")
    new = proc.stdout.decode().strip()

    # Compare-and-swap: fails if someone moved HEAD meanwhile. An empty old value means
    # "must not exist yet" (unborn). update-ref on HEAD follows the symref to the branch.
    subject = msg.decode("utf-8").partition("\n")[0]
    proc = _run(root, "update-ref", "-m", f"commit (tether): {subject}", "HEAD", new, old or "",
                check=False)
    if proc.returncode != 0:
        raise GitError("HEAD moved while committing; nothing was changed", hint="run the command again")
    # Bring the real index in line with the new commit for these paths only; anything
    # else the user staged stays staged. `reset` with paths runs no hooks.
    proc = _run(root, "reset", "-q", "--", *_specs(pathspec), check=False)
    if proc.returncode != 0:
        raise GitError(f"committed {new[:12]} but could not update the index for {_specs(pathspec)}",
                       hint=f"run `git reset -q -- {' '.join(_specs(pathspec))}`")
    return new


_HUNK = None


def added_lines(root: Path, base: str, env: dict[str, str] | None = None) -> dict[str, list[tuple[int, str]]]:
    """The lines the index (``env``'s GIT_INDEX_FILE) adds to ``base`` (a commit or tree): path ->
    [(line number in the new file, text)]. Binary files are left out."""
    global _HUNK
    import re

    if _HUNK is None:
        _HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
    raw = _run(root, "diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "-U0",
               base, "--", env=env).stdout
    out: dict[str, list[tuple[int, str]]] = {}
    lines = raw.split(b"\n")
    i, path = 0, None
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith(b"diff --git "):
            path = None
        elif line.startswith(b"+++ ") and path is None:
            name = line[4:].removesuffix(b"\t")  # git adds a tab after a name with a space
            path = None if name == b"/dev/null" else _unquote(name)[2:]  # "b/<path>"
        elif path is not None and (match := _HUNK.match(line)):
            removed = int(match.group(1)) if match.group(1) is not None else 1
            number, count = int(match.group(2)), int(match.group(3)) if match.group(3) is not None else 1
            # -U0: the hunk is its removed lines, then its added ones; counted, since an added
            # line may itself begin with "+++" or "@@".
            taken = 0
            while taken < removed + count and i < len(lines):
                body = lines[i]
                i += 1
                if body.startswith(b"\\"):  # "\ No newline at end of file"
                    continue
                if taken >= removed:
                    out.setdefault(path, []).append((number, body[1:].decode("utf-8", "replace")))
                    number += 1
                taken += 1
    return out


def _unquote(name: bytes) -> str:
    """A path as git prints it in a diff: C-quoted when it holds special characters."""
    if name.startswith(b'"') and name.endswith(b'"'):
        import codecs

        name = codecs.escape_decode(name[1:-1])[0]
    return name.decode("utf-8", "surrogateescape")


# --- reading a commit without a checkout ---------------------------------------------

class GitTree:
    """Read-only view of the files of one commit, read from git objects (no checkout)."""

    def __init__(self, root: Path, sha: str, prefix: str = "") -> None:
        self._proc: subprocess.Popen | None = None  # started lazily on first read
        self.root, self.sha, self.prefix = root, sha, _norm(prefix) or ""
        self._dirs: dict[str, list[str] | None] = {}  # listing cache; None = absent/not a dir

    def _path(self, rel: str) -> str | None:
        rel_n = _norm(rel)
        return None if rel_n is None else "/".join(p for p in (self.prefix, rel_n) if p)

    def _cat(self, path: str) -> tuple[str, bytes, int] | None:
        """(type, content, oid hex length) of <sha>:<path> from the one cat-file process."""
        if self._proc is None:
            import subprocess

            try:
                self._proc = subprocess.Popen(
                    ["git", "-C", str(self.root), "cat-file", "--batch"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env())
            except FileNotFoundError:
                raise GitError("git executable not found", hint="install git") from None
        proc = self._proc
        try:
            proc.stdin.write(f"{self.sha}:{path}\n".encode("utf-8", "surrogateescape"))
            proc.stdin.flush()
            header = proc.stdout.readline()
        except OSError:  # includes BrokenPipeError
            header = b""
        if not header:
            self.close()
            raise GitError(f"git cat-file stopped unexpectedly in {self.root}")
        # "<oid> <type> <size>" or "<input> missing|ambiguous"; rsplit keeps odd paths safe.
        parts = header.rstrip(b"\n").rsplit(b" ", 2)
        if len(parts) != 3 or not parts[2].isdigit():
            return None
        data = proc.stdout.read(int(parts[2]) + 1)[:-1]  # content, then a trailing LF
        return parts[1].decode(), data, len(parts[0])

    def read(self, rel: str) -> bytes | None:
        path = self._path(rel)
        got = self._cat(path) if path else None
        return got[1] if got and got[0] == "blob" else None

    def _listing(self, rel: str) -> list[str] | None:
        path = self._path(rel)
        if path is not None and path not in self._dirs:
            # Trees come through the same cat-file process: no `ls-tree` process per directory.
            got = self._cat(path)
            self._dirs[path] = _tree_names(got[1], got[2] // 2) if got and got[0] == "tree" else None
        return None if path is None else self._dirs[path]

    def list(self, rel: str = "") -> list[str]:
        return list(self._listing(rel) or [])

    def is_dir(self, rel: str) -> bool:
        return self._listing(rel) is not None

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):  # EOF on stdin makes cat-file exit
                try:
                    stream.close()
                except OSError:
                    pass
            proc.wait()

    def __enter__(self) -> GitTree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # don't leak the child if the caller forgot close()
        if getattr(self, "_proc", None) is not None:
            self.close()


def _norm(rel: str) -> str | None:
    """Clean a relative path ("a//b/./c/" -> "a/b/c"); None for ones git cannot name."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    return None if ".." in parts or "\n" in rel else "/".join(parts)


def _tree_names(raw: bytes, oid_len: int) -> list[str]:
    """Entry names of a raw tree object: "<mode> <name>\\0<binary oid>" repeated."""
    names, i = [], 0
    while i < len(raw):
        sp = raw.index(b" ", i)
        nul = raw.index(b"\0", sp)
        names.append(raw[sp + 1:nul].decode("utf-8", "surrogateescape"))
        i = nul + 1 + oid_len
    return sorted(names)
