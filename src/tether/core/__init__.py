"""The domain verbs: what tether does, over the store's interface. No CLI, no processes.

Modules: ``tasks`` (start, checkpoint, resume, the newest checkpoint across a
merge's branch tips), ``worklist`` (which tasks, the active one, a task's status),
``memory`` (decisions, context entries, the memory log), ``boot`` (gathering the
state and the readiness brief), ``brief`` (rendering under a token budget, and the
brief from the warm cache), ``commit_lines`` (what a brief says about the
commit), ``close`` (the end of a session, the progress logs), ``context_document``
(CONTEXT.md's blocks), ``manifest`` (index.json), ``verify`` (every file checked),
``repair`` (``tether index --repair``), ``merging`` (the merge driver's context
document, from the records the merge leaves), ``setup`` (``tether init``).
Git is asked through ``gitio``; the per-machine caches live in ``warm``.
"""
