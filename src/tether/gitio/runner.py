"""Every git process tether starts goes through here: one environment, one way to fail.

Two ways to run git, one choice each: ``run`` (the subprocess module, for commands
that write or take input) and ``query`` (``posix_spawn`` without the subprocess
module, for read-only questions on the boot path, where importing subprocess's own
imports costs more than the git process). ``batch`` starts a long-lived
``cat-file --batch``; ``lines`` reads a long answer (``git log``) as git prints it,
for a reader that stops early. Failures raise :class:`tether.errors.GitProblem` with git's
first meaningful line.
"""

from __future__ import annotations

import os

from ..errors import GitProblem

TYPE_CHECKING = False  # not `from typing import ...`: typing costs 3 ms at start-up
if TYPE_CHECKING:
    import subprocess

MISSING = "git executable not found"


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    # C locale so error text is stable to match; never block on a credential prompt.
    return {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", **(extra or {})}


def _argv(root, args: tuple[str, ...]) -> list[str]:
    """``git -C root ARGS``; without ``root`` git runs where the caller is (a merge driver's cwd)."""
    return ["git", "-C", str(root), *args] if root is not None else ["git", *args]


def missing() -> GitProblem:
    return GitProblem(MISSING, hint="install git")


def run(root, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run git and wait; with ``check``, a non-zero exit raises GitProblem."""
    import subprocess

    try:
        proc = subprocess.run(_argv(root, args), input=input, capture_output=True, env=environment(env),
                              stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise missing() from None
    if check and proc.returncode != 0:
        fail(proc.stderr, args[0])
    return proc


def output(root, *args: str, **kw) -> str:
    """The stripped text a successful git command printed."""
    return run(root, *args, **kw).stdout.decode("utf-8", "surrogateescape").strip()


def query(root, *args: str, env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    """A read-only git command's exit code, output and errors, without the subprocess module."""
    if not hasattr(os, "posix_spawnp"):
        proc = run(root, *args, env=env, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    out_r, out_w = os.pipe()  # not inherited: only the copies made on 1 and 2 reach git
    err_r, err_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        pid = os.posix_spawnp("git", _argv(root, args), environment(env), file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
    except FileNotFoundError:
        os.close(out_r)
        os.close(err_r)
        raise missing() from None
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


def batch(root, *args: str) -> subprocess.Popen:
    """A long-lived git process fed on stdin (``cat-file --batch``); stderr is dropped."""
    import subprocess

    try:
        return subprocess.Popen(_argv(root, args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=environment())
    except FileNotFoundError:
        raise missing() from None


def lines(root, *args: str, env: dict[str, str] | None = None):
    """A read-only git command's output line by line (bytes) as git prints it. A reader that stops
    early closes the generator (``contextlib.closing``), which stops git: a walk of history ends
    where its answer is found. A failure (a non-zero exit of a command read to its end) raises
    GitProblem."""
    import subprocess

    try:
        proc = subprocess.Popen(_argv(root, args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=environment(env))
    except FileNotFoundError:
        raise missing() from None
    ended = False
    try:
        yield from proc.stdout
        ended = True
    finally:
        if not ended:
            proc.kill()
        proc.stdout.close()
        err = proc.stderr.read()  # after the output: what these commands say there is one line
        proc.stderr.close()
        code = proc.wait()
    if code != 0:
        fail(err, args[0])


def fail(stderr: bytes, what: str) -> None:
    """Raise with the first meaningful line of git's stderr."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    line = lines[0].removeprefix("fatal: ").removeprefix("error: ") if lines else "unknown error"
    raise GitProblem(f"git {what} failed: {line}")


def answer_or_none(root, *args: str) -> str | None:
    """Output of a `-q` query, None when it answers "no" (exit 1); other failures raise."""
    proc = run(root, *args, check=False)
    if proc.returncode not in (0, 1):
        fail(proc.stderr, args[0])
    return proc.stdout.decode("utf-8", "surrogateescape").strip() if proc.returncode == 0 else None
