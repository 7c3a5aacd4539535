"""A zip archive stamped per copy: fixed entries deflated once, a few fields filled in per copy.

A round sends thousands of copies of one xlsx form that differ in a handful of
strings (customer, token, signature). Writing each copy with zipfile means
parsing and writing the archive's directory and deflating every changed part
again, several times what the strings themselves cost. A raw deflate stream
may be cut into independent pieces: a piece that ends with a full flush
(Z_FULL_FLUSH: byte-aligned, history reset, not final) can be followed by any
other piece, and only the last piece is final. So the fixed text around each
field is deflated once, each copy deflates only its field values, and the
copy's entry is those pieces in order; the CRC-32 runs over the pieces'
plain bytes. The archive around the entries (local headers, central
directory, end record) is the plain zip format (PKWARE APPNOTE 4.3), written
with struct; tests read every copy back with zipfile (CRC checked), openpyxl
and calamine.
"""

from __future__ import annotations

import re
import struct
import zlib

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_VERSION = 20  # 2.0: deflate
_DEFLATED = 8
_UTF8_NAMES = 0x800


def _dos_time(year: int, month: int, day: int, hour: int, minute: int, second: int) -> tuple[int, int]:
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _deflate(data: bytes, final: bool, level: int = 9) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


class _Entry:
    """One archive entry: a fixed text with fields, its fixed pieces deflated once."""

    def __init__(self, name: str, text: str, placeholder: re.Pattern):
        pieces = placeholder.split(text)
        self.name = name.encode("utf-8")
        self.flags = 0 if name.isascii() else _UTF8_NAMES
        self.fields = pieces[1::2]
        self.literals = [piece.encode("utf-8") for piece in pieces[0::2]]
        last = len(self.literals) - 1
        self.deflated = [_deflate(literal, final=index == last) for index, literal in enumerate(self.literals)]

    def fill(self, values: dict[str, bytes]) -> tuple[int, int, bytes]:
        """(CRC-32, size, deflated data) with the fields filled in."""
        literal = self.literals[0]
        crc, size, out = zlib.crc32(literal), len(literal), [self.deflated[0]]
        # One compressor for the copy's values; each full flush ends a piece that stands on its own.
        compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
        for field, literal, deflated in zip(self.fields, self.literals[1:], self.deflated[1:]):
            value = values[field]
            out.append(compressor.compress(value))
            out.append(compressor.flush(zlib.Z_FULL_FLUSH))
            out.append(deflated)
            crc = zlib.crc32(literal, zlib.crc32(value, crc))
            size += len(value) + len(literal)
        return crc, size, b"".join(out)


class StampedZip:
    """An archive of fixed entries and entries with fields; `stamp(values)` gives one copy's bytes."""

    def __init__(self, fixed: list[tuple[str, bytes]], templated: list[tuple[str, str]], placeholder: re.Pattern,
                 date_time: tuple[int, int, int, int, int, int] = (2020, 1, 1, 0, 0, 0)):
        self._time, self._date = _dos_time(*date_time)
        head, central = [], []
        offset = 0
        for name, data in fixed:
            encoded = name.encode("utf-8")
            flags = 0 if name.isascii() else _UTF8_NAMES
            deflated = _deflate(data, final=True)
            crc = zlib.crc32(data)
            central.append(self._central(encoded, flags, crc, len(deflated), len(data), offset))
            local = self._local(encoded, flags, crc, len(deflated), len(data))
            head += (local, deflated)
            offset += len(local) + len(deflated)
        self._head, self._head_size = b"".join(head), offset
        self._central_fixed = b"".join(central)
        self._entries = [_Entry(name, text, placeholder) for name, text in templated]
        self._count = len(fixed) + len(self._entries)
        self.fields = {field for entry in self._entries for field in entry.fields}

    def _local(self, name: bytes, flags: int, crc: int, compressed: int, size: int) -> bytes:
        return _LOCAL.pack(0x04034B50, _VERSION, flags, _DEFLATED, self._time, self._date, crc, compressed, size,
                           len(name), 0) + name

    def _central(self, name: bytes, flags: int, crc: int, compressed: int, size: int, offset: int) -> bytes:
        return _CENTRAL.pack(0x02014B50, _VERSION, _VERSION, flags, _DEFLATED, self._time, self._date, crc,
                             compressed, size, len(name), 0, 0, 0, 0, 0, offset) + name

    def stamp(self, values: dict[str, str]) -> bytes:
        """One copy with every field filled in (values are text, written as UTF-8)."""
        encoded = {field: value.encode("utf-8") for field, value in values.items()}
        out, central, offset = [self._head], [self._central_fixed], self._head_size
        for entry in self._entries:
            crc, size, deflated = entry.fill(encoded)
            local = self._local(entry.name, entry.flags, crc, len(deflated), size)
            central.append(self._central(entry.name, entry.flags, crc, len(deflated), size, offset))
            out += (local, deflated)
            offset += len(local) + len(deflated)
        directory = b"".join(central)
        out += (directory, _END.pack(0x06054B50, 0, 0, self._count, self._count, len(directory), offset, 0))
        return b"".join(out)
