"""The audit log as C2SP tlog-tiles: tile coordinates, paths, entry bundles, proofs from tiles.

A tile is 256 consecutive Merkle tree hashes at tree level ``8 * L``: at tile level 0 the leaf
hashes, at tile level 1 the roots of full level-0 tiles, and so on. The rightmost tile of each
level is *partial* (1 to 255 hashes) for a tree size that does not fill it; a partial tile of a
given width never changes, so every tile (full or partial) is immutable and cacheable. Entry
bundles hold the entries of one level-0 tile, each as a big-endian uint16 length and the
entry's bytes.

Anyone holding tiles can compute any proof: :class:`TileHashes` turns a tile source into the
``Subtree`` function that :mod:`gateway.audit.merkle` generates proofs over, hashing up inside
a tile for the eight tree levels between two tile levels. The hub computes its own proofs the
same way (from the tiles it serves), and a client that fetched tiles over HTTP needs nothing
from the hub's proof endpoints: whatever tiles it was given, a proof it computes verifies only
against the signed root if the tiles were the log's.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.audit.merkle import node_hash, split_point
from gateway.errors import IntegrityError

HEIGHT = 8
WIDTH = 1 << HEIGHT  # hashes in a full tile, entries in a full bundle
HASH = 32
MAX_ENTRY = 0xFFFF  # an entry bundle's uint16 length prefix


class TileError(IntegrityError):
    code = "tile-invalid"
    title = "A tile or entry bundle is malformed"


@dataclass(frozen=True)
class Tile:
    """Tile ``index`` at tile ``level`` holding ``width`` hashes (256 = full); with
    ``entries`` the entry bundle of level-0 tile ``index`` (``level`` is then 0)."""

    level: int
    index: int
    width: int
    entries: bool = False

    @property
    def full(self) -> bool:
        return self.width == WIDTH

    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` (no leading slash)."""
        head = "tile/entries" if self.entries else f"tile/{self.level}"
        tail = "" if self.full else f".p/{self.width}"
        return f"{head}/{index_path(self.index)}{tail}"


def index_path(n: int) -> str:
    """A tile index as zero-padded three-digit elements, all but the last prefixed with ``x``:
    1234067 -> ``x001/x234/067``."""
    if n < 0:
        raise ValueError("a tile index is not negative")
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


_ELEMENT = re.compile(r"x\d{3}")
_LAST = re.compile(r"\d{3}")


def parse_tile_path(path: str) -> Tile:
    """The tile a request path (after the log's prefix) names; :class:`ValueError` unless it
    is exactly in the spec's form (no leading zeroes in L and W, W in 1..255)."""
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise ValueError("not a tile path")
    entries = parts[1] == "entries"
    level = 0
    if not entries:
        if not re.fullmatch(r"0|[1-9]\d?", parts[1]) or int(parts[1]) > 63:
            raise ValueError("the tile level is not 0..63")
        level = int(parts[1])
    rest = parts[2:]
    width = WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not re.fullmatch(r"[1-9]\d{0,2}", rest[-1]) or int(rest[-1]) >= WIDTH:
            raise ValueError("a partial tile's width is 1..255")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][:-2]]
    if not rest or not all(_ELEMENT.fullmatch(p) for p in rest[:-1]):
        raise ValueError("a tile index is x-prefixed three-digit elements")
    if not _LAST.fullmatch(rest[-1]):
        raise ValueError("a tile index ends in a three-digit element")
    index = int("".join(p.lstrip("x") for p in rest))
    if index_path(index) != "/".join(rest):
        raise ValueError("the tile index is not in its one canonical form")
    return Tile(level, index, width, entries)


def width_at(level: int, index: int, size: int) -> int:
    """How many hashes tile ``index`` at ``level`` holds in a tree of ``size`` (0: none)."""
    count = size >> (HEIGHT * level)
    return max(0, min(WIDTH, count - index * WIDTH))


def tile_for(level: int, index: int, size: int, *, entries: bool = False) -> Tile | None:
    """The tile (full or partial) that a tree of ``size`` has at these coordinates."""
    width = width_at(level, index, size)
    return Tile(level, index, width, entries) if width else None


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries as an entry bundle: each a big-endian uint16 length, then its bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY:
            raise TileError(f"an entry of {len(entry)} bytes does not fit an entry bundle")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_bundle(data: bytes) -> list[bytes]:
    entries, position = [], 0
    while position < len(data):
        if position + 2 > len(data):
            raise TileError("an entry bundle ends inside a length prefix")
        length = int.from_bytes(data[position : position + 2], "big")
        position += 2
        if position + length > len(data):
            raise TileError("an entry bundle ends inside an entry")
        entries.append(data[position : position + length])
        position += length
    return entries


def split_hashes(data: bytes, width: int) -> list[bytes]:
    if len(data) != width * HASH:
        raise TileError(f"a tile of width {width} has {len(data)} bytes, want {width * HASH}")
    return [data[i : i + HASH] for i in range(0, len(data), HASH)]


TileSource = Callable[[Tile], bytes]  # the bytes of a tile (served, stored or fetched)


class TileHashes:
    """``Subtree`` over tiles for a tree of ``size``: MTH(D[start:end]) from the tiles that
    tree has, fetched through ``source`` and kept (immutable) in a bounded LRU cache that
    may be shared between sizes."""

    def __init__(self, source: TileSource, size: int, cache: TileCache | None = None) -> None:
        self.source = source
        self.size = size
        self.cache = cache or TileCache(64)

    def _levels(self, tile: Tile) -> list[list[bytes]]:
        """The tile's hashes and every subtree above them inside the tile (at most 255
        hashes, computed once when the tile is loaded; immutable afterwards)."""
        cached = self.cache.get(tile)
        if cached is None:
            cached = [split_hashes(self.source(tile), tile.width)]
            while len(cached[-1]) > 1:
                below = cached[-1]
                cached.append(
                    [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
                )
            self.cache.put(tile, cached)
        return cached

    def node(self, level: int, index: int) -> bytes:
        """The complete aligned subtree at tree ``level`` (width 2**level), number ``index``."""
        tile_level, inner = divmod(level, HEIGHT)
        first = index << inner  # its first hash at tree level 8 * tile_level
        tile = tile_for(tile_level, first // WIDTH, self.size)
        if tile is None or ((index + 1) << inner) - (first // WIDTH) * WIDTH > tile.width:
            raise TileError(f"node ({level}, {index}) is not in a tree of size {self.size}")
        return self._levels(tile)[inner][(first % WIDTH) >> inner]

    def __call__(self, start: int, end: int) -> bytes:
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            level = width.bit_length() - 1
            return self.node(level, start >> level)
        k = split_point(width)
        return node_hash(self(start, start + k), self(start + k, end))


class TileCache:
    """Tiles by coordinates, least recently used dropped first; thread-safe."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Tile, list[list[bytes]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tile: Tile) -> list[list[bytes]] | None:
        with self._lock:
            found = self._items.get(tile)
            if found is not None:
                self._items.move_to_end(tile)
            return found

    def put(self, tile: Tile, levels: list[list[bytes]]) -> None:
        with self._lock:
            self._items[tile] = levels
            self._items.move_to_end(tile)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
