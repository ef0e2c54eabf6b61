"""A CSV job file's text encoding: decide it, transcode to UTF-8 when needed, locate a bad byte.

polars reads UTF-8 only, strictly (it refuses an invalid byte anywhere, and skips a UTF-8 BOM
itself), so a UTF-8 file goes to polars as it is and its bytes are checked there, in Rust. When
no encoding is given the decision needs no pass over the file: a UTF-8 BOM means utf-8-sig;
else UTF-8 when the first MiB decodes as UTF-8; else CP932 (what Japanese Excel writes). A CP932
(or any other non-UTF-8) file is transcoded in chunks to a scratch UTF-8 file, so memory stays
flat. A file that looked like UTF-8 but that polars refuses is decoded here once more, only to
name the first bad byte, and is then tried as CP932 (unless the encoding was given). A file that
is neither gets an error naming the first bad byte of each.
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
from batch.jobfile.tally import CHUNK_BYTES

SAMPLE_BYTES = 1 << 20
FALLBACK = "cp932"  # what Japanese Excel writes for "CSV (comma delimited)"
UTF8 = ("utf-8", "utf-8-sig")


@dataclass(frozen=True)
class Source:
    """A CSV file ready for polars.

    `data` is UTF-8 (maybe with a BOM): the job file itself, or `scratch`, its transcoded copy,
    which is ours to delete. Transcoding also gives the file's SHA-256 and the commas of its
    text. `detected`: the encoding was decided here, so a file polars refuses as UTF-8 may
    still be CP932.
    """

    data: Path
    encoding: str
    detected: bool
    scratch: Path | None = None
    sha256: str | None = None
    commas: int | None = None


class Undecodable(Exception):
    """A byte sequence that is not valid in the codec: where it is."""

    def __init__(self, codec: str, offset: int, line: int) -> None:
        super().__init__(f"byte offset {offset} (line {line}) is not valid {codec}")
        self.codec, self.offset, self.line = codec, offset, line


def choose(path: Path, encoding: str | None = None) -> Source:
    """The job file as a Source for polars; JobFileError when its bytes cannot be text."""
    if encoding is not None:
        return _given(path, _codec(path, encoding))
    if _starts_with_bom(path):
        return Source(path, "utf-8-sig", detected=False)
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
    try:
        _step(codecs.getincrementaldecoder("utf-8")("strict"), sample, "utf-8", 0, 0)
    except Undecodable as not_utf8:
        return _fallback(path, not_utf8)
    return Source(path, "utf-8", detected=True)


def after_bad_utf8(path: Path, source: Source) -> Source | None:
    """polars refused `source` as UTF-8: the file as CP932 if UTF-8 was a guess and CP932 decodes;
    None if every byte decodes after all (the refusal was about something else); else JobFileError."""
    try:
        _decode_all(path, source.encoding, None)
    except Undecodable as bad:
        if source.detected:
            return _fallback(path, bad)
        raise JobFileError(f"{path.name}: {bad}; is --encoding {source.encoding} right?") from None
    return None


def _fallback(path: Path, not_utf8: Undecodable) -> Source:
    try:
        return _transcoded(path, FALLBACK, detected=True)
    except Undecodable as not_cp932:
        raise JobFileError(
            f"{path.name}: cannot tell the encoding: not UTF-8 ({not_utf8}) and not CP932 "
            f"({not_cp932}); pass --encoding ENCODING"
        ) from None


def _given(path: Path, codec: str) -> Source:
    """The codec the operator named (a UTF-8 BOM is skipped either way)."""
    if codec in UTF8:
        return Source(path, "utf-8-sig" if _starts_with_bom(path) else "utf-8", detected=False)
    try:
        return _transcoded(path, codec, detected=False)
    except Undecodable as bad:
        raise JobFileError(f"{path.name}: {bad}; is --encoding {codec} right?") from None


def _codec(path: Path, encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise JobFileError(f"{path.name}: unknown encoding {encoding!r}") from None


def _starts_with_bom(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8


def _transcoded(path: Path, codec: str, *, detected: bool) -> Source:
    """Decode with `codec` into a scratch UTF-8 file beside the system's temp files."""
    fd, name = tempfile.mkstemp(prefix="uom-batch-", suffix=".csv")
    scratch = Path(name)
    commas = 0

    def write(text: str) -> None:
        nonlocal commas
        commas += text.count(",")
        out.write(text)

    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            sha = _decode_all(path, codec, write)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    return Source(scratch, codec, detected, scratch, sha, commas)


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
