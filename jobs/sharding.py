"""Which shard a row goes to (pure): a stable hash, so a ticket's rows (or a master's group) stay whole.

crc32 of ServiceCode + TicketId for update-ticket (the file's ServiceCode column, empty when the
settings give it), of MasterIncidentId for release-relation: every row of one ticket, or every
child of one master, lands in the same shard and keeps its file order there.
"""

from __future__ import annotations

import zlib

import polars as pl

KEY_COLUMNS = {"update-ticket": ("ServiceCode", "TicketId"), "release-relation": ("MasterIncidentId",)}


def shard_key(kind: str, columns: list[str]) -> pl.Expr:
    """The text a row's shard is hashed from."""
    parts = [pl.col(c) if c in columns else pl.lit("") for c in KEY_COLUMNS[kind]]
    return pl.concat_str([p.fill_null("") for p in parts])


def shard_numbers(frame: pl.DataFrame, kind: str, shards: int) -> pl.Series:
    """Each row's shard, 0 .. shards - 1: crc32 of its key, modulo the number of shards."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    keys = frame.select(shard_key(kind, frame.columns).alias("key")).get_column("key")
    return keys.map_elements(lambda k: zlib.crc32(k.encode("utf-8")) % shards, return_dtype=pl.Int64)
