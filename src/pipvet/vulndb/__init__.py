"""The local vulnerability database: OSV records for PyPI, parsed, matched and stored in SQLite.

``osv`` turns one OSV JSON object into an internal record (pure, tolerant); ``versions`` and
``matching`` decide whether a PEP 440 version is affected (pure); ``cvss`` scores CVSS 3.x vectors
(pure); ``store`` defines and reads the SQLite file, ``build`` writes a new one; ``update``
downloads an export and swaps the database atomically. Importing this package imports none of them.
"""
