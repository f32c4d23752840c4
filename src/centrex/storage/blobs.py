"""Content-addressed blob store: ``<root>/<aa>/<sha256>`` files, written atomically.

Rows (media files, voicemail messages) refer to blobs by SHA-256 digest, so identical audio is stored once and
template copies share it. A blob is deleted only by ``discard_unreferenced`` after the rows that used it are gone
(``centrex.resources.media.blobs`` decides which, with the transaction).
Digests are validated before any path is built, so no caller input reaches the file system as a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if not _DIGEST.match(digest):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256 digest. Idempotent."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def digests(self) -> Iterator[tuple[str, float]]:
        """Every stored blob: its digest and modification time (temporary files of unfinished writes excluded)."""
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if not sub.is_dir() or len(sub.name) != 2:
                continue
            for entry in sub.iterdir():
                if _DIGEST.match(entry.name) and entry.name[:2] == sub.name:
                    with contextlib.suppress(FileNotFoundError):
                        yield entry.name, entry.stat().st_mtime

    def discard_unreferenced(self, candidates: Iterable[str], still_used: set[str]) -> int:
        """Delete the blobs among ``candidates`` that no row uses any more; returns how many were deleted."""
        removed = 0
        for digest in set(candidates) - still_used:
            try:
                self.path(digest).unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed
