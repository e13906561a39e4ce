"""The package index: simple API pages (PEP 691 JSON / PEP 503 HTML), the project JSON API,
where the index is and how to log in to it, and verified artifact downloads.

Parsers (:mod:`.simple`, :mod:`.jsonapi`) are pure; :mod:`.client` and :mod:`.download` do I/O
through :mod:`pipvet.net`; :mod:`.locate` reads the user's pip and uv configuration.
"""
