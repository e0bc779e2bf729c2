"""Every git process tether starts, and every merge of tether's files.

Modules: ``runner`` (the one way git is run, and how it fails), ``refs`` (HEAD,
the branch, resolving a revision; read from ``.git`` without a process when it
can), ``objects`` (a commit's files without a checkout, blob ids, tree entries),
``commits`` (committing tether's files with a private index), ``history`` (which
files are as committed, and when each was last committed), ``textmerge``
(git's own three-way text merge), ``semantic_merge`` (LATEST.json, CONTEXT.md and
index.json merged by what they mean: pure, testable without git),
``mergedriver`` (registering and running tether's merge driver), and ``gitconfig``
(whether git's config defines a key, read from its files without a process).
"""
