"""Sources of cases other than our own feed, configured by declarative profiles.

- ``profile``: the profile format (TOML, versioned, validated; docs/sources.md);
- ``tabular``: rows of an export (CSV, XLSX/XLS, JSON, NDJSON) -> case records;
- ``importer``: bulk history import into the store and the journal;
- ``cli``: ``python main.py import --profile NAME|PATH FILE...``.
"""
