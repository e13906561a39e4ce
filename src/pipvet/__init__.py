"""pipvet: vet Python packages before they reach your machine.

The public API is small on purpose; everything else may change between releases::

    from pipvet import __version__, models
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
