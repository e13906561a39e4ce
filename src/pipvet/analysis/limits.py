"""Every limit the archive reader enforces, in one place.

An archive is hostile until proven otherwise: these numbers bound the work and memory one
archive can cost. Crossing a *hard* limit stops reading and yields a ``PV-ARCHIVE-*`` finding
(the verdict becomes ``error`` because the archive could not be vetted completely, or
``malicious`` where the structure itself is an attack); *read budgets* only bound how many bytes
of a member are kept in memory (a cut file has ``FileContext.size > len(data)``).

Defaults were chosen against the 900 most-downloaded projects (the largest, torch and
tensorflow wheels, stay inside them) and against the shapes of known attacks
(THREATS.md signal 22: "compression ratio > 100:1, > 100k files").
"""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: More members than this (files, folders, links) and reading stops: verdict ``error``.
MAX_MEMBERS = 100_000

#: Sum of the declared uncompressed sizes of all members; beyond it reading stops: ``error``.
MAX_TOTAL_UNCOMPRESSED = 4 * GiB

#: A single member declaring more than this is not read at all (``error``: not vetted). Only a
#: member's budget (``HEAD_READ`` for native libraries) is ever kept in memory, so this bounds
#: decompression work, not memory. tensorflow's wheel ships a 1.05 GiB shared library.
MAX_MEMBER_SIZE = 2 * GiB

#: Uncompressed : compressed ratio that marks a decompression bomb (whole archive or one ZIP
#: member). Source text compresses 4-10:1 and even sparse data rarely beats 100:1 at size.
MAX_RATIO = 100

#: The ratio limit only applies above this many uncompressed bytes: runs of zeros in test data
#: compress absurdly well and are harmless at that size (stream-unzip's sdist, a library for
#: reading ZIP files, expands 132:1 to 35 MB). The largest popular sdist (numpy) expands to
#: 68 MB; reading up to this much costs well under a second and the memory caps still hold.
RATIO_MIN_BYTES = 128 * MiB

#: Bytes kept in memory for a Python or other code member (``.py``, ``.pth``, scripts,
#: ``setup.cfg``, ``pyproject.toml``, metadata). Larger files are cut here (``truncated``).
MAX_CODE_READ = 16 * MiB

#: Bytes kept for members whose *content* rules inspect as a whole: images and audio (data
#: after the logical end), pickles (opcode stream), unknown files that may turn out to be text.
MAX_BLOB_READ = 8 * MiB

#: Bytes kept of documentation and data text (``.json``, ``.md``, ``.csv``, C sources...).
MAX_DATA_TEXT_READ = 256 * KiB

#: Bytes kept of anything else (native libraries, fonts, archives inside the archive): enough
#: for magic numbers and headers.
HEAD_READ = 4 * KiB

#: Total bytes kept in memory for one archive. Past it, further members keep only their head.
MAX_TOTAL_READ = 512 * MiB

#: Of that total, what members that are not code (data text, media, pickles, unknown files) may
#: take together; past it they keep only their head. The rest stays for code, so that hundreds
#: of megabytes of data (a GPU library's kernel sources, an attacker's padding) read before the
#: Python files cannot leave those cut short and unvetted.
MAX_OTHER_READ = 256 * MiB

#: Python sources longer than this (characters) are not handed to ``ast.parse`` (generated
#: tables, minified payloads); rules fall back to text for them and the engine says so.
MAX_PARSE_CHARS = 8 * MiB

#: Wall-clock seconds one archive's analysis may take (reading included). Past it the rules
#: stop and the verdict is ``error``: a file crafted to make a rule crawl must not hang the
#: install gate. Generous, because the largest popular sdists take seconds.
MAX_SECONDS = 300.0

#: Archive files up to this size are read into memory once (hashed and parsed from one buffer);
#: larger ones are hashed and read from disk in chunks.
SLURP_LIMIT = 64 * MiB

#: Compressed tars that expand to at most this much (and within MAX_RATIO of their size) are
#: decompressed in one call and read from memory; others are streamed. Same limits either way.
IN_MEMORY_TAR = 256 * MiB

#: Archives inside the archive are not opened: nesting depth 0. They are classified by magic
#: bytes (``FileKind.BINARY``) and left to rules; one stored under a name that is not an
#: archive's is reported (``PV-ARCHIVE-DISGUISED``).
MAX_NESTING_DEPTH = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """The limits for one analysis; tests shrink them to build small hostile archives."""

    max_members: int = MAX_MEMBERS
    max_total_uncompressed: int = MAX_TOTAL_UNCOMPRESSED
    max_member_size: int = MAX_MEMBER_SIZE
    max_ratio: int = MAX_RATIO
    ratio_min_bytes: int = RATIO_MIN_BYTES
    max_code_read: int = MAX_CODE_READ
    max_blob_read: int = MAX_BLOB_READ
    max_data_text_read: int = MAX_DATA_TEXT_READ
    head_read: int = HEAD_READ
    max_total_read: int = MAX_TOTAL_READ
    max_other_read: int = MAX_OTHER_READ
    max_parse_chars: int = MAX_PARSE_CHARS
    max_seconds: float = MAX_SECONDS


DEFAULT_LIMITS = Limits()
