"""A CSV job file's text encoding: detect it, check every byte, transcode to UTF-8 when needed.

polars reads UTF-8 only (it skips a UTF-8 BOM itself). A file in another encoding (CP932 from
Japanese Excel) is transcoded in chunks to a scratch UTF-8 file, so memory stays flat. Detection
when no encoding is given: a UTF-8 BOM means utf-8-sig; else UTF-8 if every byte decodes; else
CP932 if every byte decodes; else an error naming the first bad byte of each. The same pass
computes the SHA-256 of the file's bytes.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from batch.errors import JobFileError

CHUNK_BYTES = 1 << 20
FALLBACK = "cp932"  # what Japanese Excel writes for "CSV (comma delimited)"


@dataclass(frozen=True)
class Decoded:
    """A CSV file ready for polars: `data` is UTF-8 (maybe with a BOM); `scratch` is ours to delete."""

    data: Path
    encoding: str
    sha256: str
    scratch: Path | None = None


class Undecodable(Exception):
    """A byte sequence that is not valid in the codec: where it is."""

    def __init__(self, codec: str, offset: int, line: int) -> None:
        super().__init__(f"byte offset {offset} (line {line}) is not valid {codec}")
        self.codec, self.offset, self.line = codec, offset, line


def _decode_all(path: Path, codec: str, write: Callable[[str], None] | None) -> str:
    """Decode `path` with `codec` chunk by chunk, passing the text on; return the SHA-256."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(codec)("strict")
    offset = lines = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
            text = _step(decoder, chunk, codec, offset, lines)
            if write is not None:
                write(text)
            offset, lines = offset + len(chunk), lines + chunk.count(b"\n")
    _step(decoder, b"", codec, offset, lines)
    return digest.hexdigest()


def _step(decoder: codecs.IncrementalDecoder, chunk: bytes, codec: str, at: int, lines: int) -> str:
    pending = decoder.getstate()[0]
    try:
        return decoder.decode(chunk, final=not chunk)
    except UnicodeDecodeError as exc:
        # exc.object is the decoder's pending bytes followed by this chunk.
        seen = exc.object[: exc.start]
        raise Undecodable(codec, at - len(pending) + exc.start, lines + seen.count(b"\n") + 1) from None


def _transcoded(path: Path, codec: str) -> Decoded:
    """Decode with `codec` into a scratch UTF-8 file beside the system's temp files."""
    fd, name = tempfile.mkstemp(prefix="uom-batch-", suffix=".csv")
    scratch = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            sha = _decode_all(path, codec, out.write)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    return Decoded(scratch, codec, sha, scratch)


def _codec(path: Path, encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise JobFileError(f"{path.name}: unknown encoding {encoding!r}") from None


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8


def decode_file(path: Path, encoding: str | None = None) -> Decoded:
    """Check (and if needed transcode) `path`; JobFileError when its bytes do not decode."""
    if encoding is not None:
        return _given(path, _codec(path, encoding))
    if _starts_with_bom(path):
        return _given(path, "utf-8-sig")
    try:
        return Decoded(path, "utf-8", _decode_all(path, "utf-8", None))
    except Undecodable as not_utf8:
        try:
            return _transcoded(path, FALLBACK)
        except Undecodable as not_cp932:
            raise JobFileError(
                f"{path.name}: cannot tell the encoding: not UTF-8 ({not_utf8}) and not CP932 "
                f"({not_cp932}); pass --encoding ENCODING"
            ) from None


def _given(path: Path, codec: str) -> Decoded:
    """Decode with the codec the operator named (a UTF-8 BOM is skipped either way)."""
    if codec in ("utf-8", "utf-8-sig"):
        codec = "utf-8-sig" if _starts_with_bom(path) else "utf-8"
    try:
        if codec.startswith("utf-8"):
            return Decoded(path, codec, _decode_all(path, codec, None))
        return _transcoded(path, codec)
    except Undecodable as bad:
        raise JobFileError(f"{path.name}: {bad}; is --encoding {codec} right?") from None
