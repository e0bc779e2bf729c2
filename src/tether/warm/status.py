"""Which of tether's files ``git status`` lists, without a stat of every file of the store.

``git status -- .tether`` stats every file git tracks there: 111,000 on a store of 10,000
tasks, most of a second. ``tether audit`` asks it once, keeps the answer with what it looked
at (``local/status.cache``, per machine, git-ignored), and the next time asks only about
what can have changed since:

- the paths tether wrote, each noted before the write (store.written);
- when HEAD moved (a commit, a reset, a checkout), the paths the two commits' trees differ
  by (git compares trees: no file is stat'ed);
- when git's index file changed, its entries that differ from HEAD (git reads its index);
- what was written by hand or by another tool in the places people and tools write:
  each folder of the store's top two levels, the files at its top and in memory/, the open
  tasks' folders and files, the session contexts and offload clusters (store.layout.watched),
  each stat compared with the last look's; a folder that changed is listed again, and the
  names it gained or lost are looked at;
- the paths it listed last time.

Each of those is compared with HEAD: absent or not, its mode, its size, and the blob id of
its bytes (kept with the file's stat, as git's index keeps it; HEAD's entries are kept per
commit). A path is listed when its bytes differ from HEAD's, or when the index differs from
HEAD there, and git does not ignore it: what ``git status --porcelain`` lists.

Not seen: an edit in place of a file outside the watched places (a checkpoint, a decision,
a completed task's file, a cached file, a packet) or a file added or removed below them,
made by something other than tether. ``full`` (``tether audit --full``) asks git about
every file; so does a run without a usable last look (the first on this machine, a fresh
clone, a record that overflowed or could not be written).
"""

from __future__ import annotations

import os
import stat as _stat
import time

from ..store import layout, written
from ..store.fsio import stat_key_of
from . import cachefile

FORMAT = 1
TRIM = 64 << 10  # record bytes read past which the record is replaced by an empty one
_RACY = 0  # the kept key of an entry whose stat could not be trusted: looked at again next time
_MAX_LISTED = 5000  # a folder of HEAD with more entries is not kept whole


class _Full(Exception):
    """The last look cannot answer: ask git about every file."""


def changed(root: str, store_dir: str, label: str, full: bool = False) -> tuple[list[str], bool]:
    """Repo paths under ``label`` that git status lists (changed, new, deleted or staged), sorted,
    and whether git was asked about every file. GitProblem when git cannot answer."""
    started = time.time_ns()
    path = os.path.join(store_dir, layout.STATUS_CACHE)
    saved = None if full else cachefile.read(path, "status", FORMAT, store_dir)
    if isinstance(saved, dict) and saved.get("label") == label:
        from ..errors import GitProblem

        try:
            return _Look(root, store_dir, label, started, saved).fast(), False
        except (_Full, GitProblem):  # git status says why, if git cannot answer at all
            pass
    return _Look(root, store_dir, label, started, None).full(), True


class _Look:
    def __init__(self, root: str, store_dir: str, label: str, started: int, saved: dict | None) -> None:
        self.root, self.store_dir, self.label, self.started = root, store_dir, label, started
        self.saved = saved or {}
        self.prefix = label + "/"

    # -- the full look: git status, and what the next look starts from ----------------------------
    def full(self) -> list[str]:
        from ..gitio import status
        from ..gitio.refs import head_sha

        token, offset = written.start(self.store_dir)  # before git looks: later writes are read next time
        keys, lists = self._watch({}, {})
        codes = status.entries(self.root, self.label)
        head = head_sha(self.root)
        staged = sorted(p for p, xy in codes.items() if xy[0] not in " ?!")
        found = sorted(codes)
        self._save(head=head, tree=status.tree_id(self.root, head, self.label) if head else None,
                   index=self._index_key(), staged=staged, changed=found, token=token, offset=offset, keys=keys,
                   lists=lists, heads={}, listed=[], files={}, ignored={}, ignore_keys=None)
        return found

    # -- the fast look ----------------------------------------------------------------------------
    def fast(self) -> list[str]:
        from ..gitio import status
        from ..gitio.refs import head_sha

        s = self.saved
        token, end, noted = written.read(self.store_dir, s.get("token"), s.get("offset", 0))
        if noted is None:
            raise _Full
        head = head_sha(self.root)
        if head is None or s.get("head") is None:
            raise _Full  # before the first commit: the store is all new, and small
        candidates = set(s["changed"]) | {self.prefix + rel for rel in noted}
        tree, heads, listed = s["tree"], s["heads"], s["listed"]
        if head != s["head"]:
            tree = status.tree_id(self.root, head, self.label)
            if tree != s["tree"]:  # GitProblem when the old commit is gone: git status answers
                candidates.update(status.between(self.root, s["head"], head, self.label))
                heads, listed = {}, []
        index = self._index_key()
        if index not in (None, _RACY) and index == s["index"] and head == s["head"]:
            staged = s["staged"]
        elif tree is not None and status.index_tree(self.root, self.label, len(head)) == tree:
            staged = []  # git's index keeps HEAD's tree for the store: no entry there differs
        else:
            staged = status.staged(self.root, head, self.label)
        keys, lists = self._watch(s["keys"], s["lists"])
        gone_dirs = self._seen(s["keys"], s["lists"], keys, lists, candidates)
        for folder in gone_dirs:
            candidates.update(status.files_under(self.root, head, self.prefix + folder))
        heads, listed = dict(heads), list(listed)
        at_head = self._at_head(head, sorted(candidates), heads, listed)
        files = dict(s["files"])
        differ = [p for p in sorted(candidates) if self._differs(p, at_head.get(p), files, len(head) == 64)]
        ignored, ignore_keys = self._ignored(differ, at_head, set(staged), s)
        found = sorted((set(differ) - ignored) | set(staged))
        if end - len(written.HEADER) > TRIM:
            new_token, begin = written.trim(self.store_dir, token, end)
            if new_token is not None:
                token, end = new_token, begin
        self._save(head=head, tree=tree, index=index, staged=sorted(staged), changed=found, token=token, offset=end,
                   keys=keys, lists=lists, heads=heads, listed=listed, files=files, ignored=self.verdicts,
                   ignore_keys=ignore_keys)
        return found

    def _seen(self, old_keys: dict, old_lists: dict, keys: dict, lists: dict, candidates: set) -> list[str]:
        """Add what changed in the watched places since the last look to ``candidates``; the
        folders that went away, whose committed files are to be looked at."""
        gone = []
        for rel, old in old_keys.items():
            now = keys[rel] if rel in keys else self._stat(rel)
            if old != _RACY and now == old:
                continue
            if rel not in old_lists:  # a file
                candidates.add(self.prefix + rel)
                continue
            before = set(old_lists[rel].split("\n")) - {""}
            after = set(lists[rel].split("\n")) - {""} if rel in lists else set(self._names(rel))
            base = f"{rel}/" if rel else ""
            for name in before ^ after:
                if not name.endswith("/"):
                    candidates.add(self.prefix + base + name)
                elif name in after:
                    candidates.update(self.prefix + p for p in self._walk(base + name))
                else:
                    gone.append(base + name.rstrip("/"))
        return gone

    # -- the watched places -----------------------------------------------------------------------
    def _watch(self, old_keys: dict, old_lists: dict) -> tuple[dict, dict]:
        """The watched folders' and files' stats now, and each folder's names (kept from the last
        look while its stat holds)."""
        keys: dict = {}
        lists: dict = {}

        def look(rel: str) -> str:
            if rel not in lists:
                key = self._stat(rel)
                old = old_keys.get(rel)
                if key is not None and old == key and rel in old_lists:
                    lists[rel] = old_lists[rel]
                else:
                    lists[rel] = "\n".join(self._names(rel))
                keys[rel] = key
            return lists[rel]

        def list_dir(rel: str) -> tuple[list[str], list[str]]:
            names = look(rel).split("\n")
            return [n for n in names if n and n[-1] != "/"], [n[:-1] for n in names if n and n[-1] == "/"]

        dirs, files = layout.watched(list_dir)
        for rel in dirs:
            look(rel)
        for rel in files:
            keys[rel] = self._stat(rel)
        for rel, key in keys.items():
            if key is not None and not cachefile.trusted(key, self.started):
                keys[rel] = _RACY
        return keys, lists

    def _stat(self, rel: str) -> tuple | None:
        try:
            st = os.lstat(os.path.join(self.store_dir, rel) if rel else self.store_dir)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return stat_key_of(st)

    def _names(self, rel: str) -> list[str]:
        """A folder's names, folders with a trailing "/", sorted; temporary files left out."""
        out = []
        folder = os.path.join(self.store_dir, rel) if rel else self.store_dir
        from ..store.nofollow import is_link

        if is_link(folder):
            return out  # never listed through a link (verify names it)
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    if entry.name.endswith(".tmp"):
                        continue
                    out.append(entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name)
        except (FileNotFoundError, NotADirectoryError):
            pass
        return sorted(out)

    def _walk(self, rel: str) -> list[str]:
        rel = rel.rstrip("/")
        out = []
        for name in self._names(rel):
            out += self._walk(f"{rel}/{name}") if name.endswith("/") else [f"{rel}/{name}"]
        return out

    # -- comparing with HEAD ----------------------------------------------------------------------
    def _at_head(self, head: str, paths: list[str], heads: dict, listed: list) -> dict:
        """HEAD's (mode, blob id, size) of each path (None: HEAD lacks it); what is not kept is
        asked of git, with the folders around, so that a next new file there is known absent."""
        from ..gitio import status

        folders = set(listed)
        unknown = [p for p in paths if p not in heads and p.rpartition("/")[0] not in folders]
        if unknown:
            around = sorted({p.rpartition("/")[0] for p in unknown} - {""})
            found = status.blobs(self.root, head, unknown + [f"{d}/" for d in around])
            count = {}
            for p in found:
                count[p.rpartition("/")[0]] = count.get(p.rpartition("/")[0], 0) + 1
            for d in around:
                if count.get(d, 0) <= _MAX_LISTED:
                    listed.append(d)
                    folders.add(d)
            for p, entry in found.items():
                if p in unknown or count.get(p.rpartition("/")[0], 0) <= _MAX_LISTED:
                    heads[p] = entry
            for p in unknown:
                heads.setdefault(p, None)
        return {p: heads.get(p) for p in paths}

    def _differs(self, path: str, entry, files: dict, sha256: bool) -> bool:
        full = os.path.join(self.root, path)
        try:
            st = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return entry is not None
        if not _stat.S_ISREG(st.st_mode) or entry is None:
            return True  # new, or a folder or a link where git has a file
        mode, oid, size = entry
        if mode not in ("100644", "100755") or st.st_size != size:
            return True
        if os.name == "posix" and (mode == "100755") != bool(st.st_mode & 0o100):
            return True
        key = stat_key_of(st)
        hit = files.get(path)
        if hit is not None and hit[0] == key:
            return hit[1] != oid
        from ..gitio.objects import blob_oid
        from ..store.nofollow import read_bytes

        try:
            ours = blob_oid(read_bytes(full, self.store_dir), sha256)
        except OSError:
            return True
        if cachefile.trusted(key, self.started):
            files[path] = (key, ours)
        return ours != oid

    def _ignored(self, differ: list[str], at_head: dict, staged: set, s: dict) -> tuple[set, list]:
        """The new files among ``differ`` that git ignores (verdicts kept while the ignore files hold)."""
        from ..gitio import status

        sources = [*status.ignore_sources(self.root), os.path.join(self.store_dir, ".gitignore")]
        keys = [_key_or_none(p) for p in sources]
        known = s.get("ignored") if s.get("ignore_keys") == keys and _all_trusted(keys, self.started) else {}
        new = [p for p in differ if at_head.get(p) is None and p not in staged and os.path.lexists(
            os.path.join(self.root, p))]
        ask = [p for p in new if p not in known]
        said = status.ignored(self.root, ask) if ask else set()
        self.verdicts = {**{p: known[p] for p in new if p in known}, **{p: p in said for p in ask}}
        return {p for p, v in self.verdicts.items() if v}, keys

    # -- the kept look ----------------------------------------------------------------------------
    def _index_key(self):
        from ..gitio import status

        key = status.index_key(self.root)
        return key if key is None or cachefile.trusted(key, self.started) else _RACY

    def _save(self, **value) -> None:
        value["label"] = self.label
        if value == self.saved:
            return  # nothing learnt: the next look starts from the same place
        cachefile.write(os.path.join(self.store_dir, layout.STATUS_CACHE), "status", FORMAT, value, self.store_dir)


def _key_or_none(path: str):
    try:
        return stat_key_of(os.stat(path))
    except OSError:
        return None


def _all_trusted(keys: list, started: int) -> bool:
    return all(k is None or cachefile.trusted(k, started) for k in keys)
