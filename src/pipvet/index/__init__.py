"""The package index: where it is, what it says about a project, and its files, verified.

Pure parsers: :mod:`.simple` (PEP 691 JSON / PEP 503 HTML pages), :mod:`.jsonapi` (the project
JSON API), :mod:`.project` (:class:`~pipvet.index.project.ProjectInfo`, whichever source).
Configuration: :mod:`.locate` (index addresses and credentials as pip and uv see them),
:mod:`.factory` (clients from :class:`~pipvet.config.Settings`).
I/O through :mod:`pipvet.net`: :mod:`.client` (sync and async clients, HTTP cache in
:mod:`.cache`, offline mode), :mod:`.download` (hash-verified content-addressed artifacts),
:mod:`.release` (every file of a release), :mod:`.presence` (which indexes carry a name),
:mod:`.popular` (refresh of the popular-names list).
Flows: :mod:`.inspect_release` (``inspect NAME``), :mod:`.signals` (name and metadata signals
for ``audit``).
"""
