"""Every per-machine cache under ``.tether/local/`` (git-ignored): what makes start-up fast.

Modules: ``cachefile`` (the one file format: header, version, Python, checksum;
and the one rule for when a file's stat can be trusted), ``brief_cache``
(the boot brief while nothing it read changed), ``listings`` (checkpoint folders'
names by the folder's stat), ``head_diff`` (which files boot read differ from
HEAD, without a git process at every boot), ``manifest_entries`` (index.json's
entries, hashing only what changed), ``config_cache`` (the parsed tether.toml).
A cache that is absent, damaged or stale is rebuilt; none is ever the truth.
"""
