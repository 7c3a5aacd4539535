"""A big worksheet parsed as pieces in parallel, with exactly the plain parse's result.

calamine parses a sheet on one core and cannot stream: 100,000 rows x 14
columns (49 MB of XML) take over a second. The rows of a worksheet are
independent, so the worker (worker.py) cuts the sheet's XML between
`<sheetData>` and `</sheetData>` at `<row r="...">` tags into one piece per
core, and forks one child per piece, before calamine has parsed anything.
Each child builds an uncompressed copy of the package whose sheet holds only
its rows, parses it with calamine, turns the rows into columns (columns.py)
and pickles them back through a pipe, after a header saying where they sit.
The worker checks the pieces' places from the headers and passes the pickled
columns on untouched; the importer joins them by their absolute positions
(calamine's `start`), padding blank rows and columns (joined_columns).

Only what is clearly safe is split; anything else is parsed plainly, which is
only slower. Never split: a part whose rows lack `r="..."` (calamine would
number them from the piece, not the sheet), comments, CDATA or processing
instructions inside the sheet data (a cut could land inside them), prefixed
(namespaced) row tags, compression or encryption calamine may not read, row
numbers that do not rise at a cut. After parsing, the pieces' row spans must
follow one another without overlap, which is what makes the join identical to
calamine's own placement; a child that fails in any way (an exception, a
signal, calamine aborting, a memory or time limit) makes the worker parse the
sheet plainly, so a hostile file ends exactly as it would have without pieces.

Children die with the worker (PR_SET_PDEATHSIG on Linux): the reader kills
the worker when the guard refuses a file or time runs out.

Test hooks (environment): CSAT_SPLIT_MIN_BYTES (default 8 MB of sheet XML)
and CSAT_SPLIT_PIECES (default: one per core, 2 to 4).
Standard library, python-calamine, columns.py and the guard's checks only, like the worker.
"""

from __future__ import annotations

import os
import pickle
import posixpath
import signal
import struct
import zipfile
import zlib
from array import array
from dataclasses import dataclass, field
from typing import Optional

from csat.sheets.columns import NO_NUMBER, Column, columns_of
from csat.sheets.guard import declares_entities

SPLIT_MIN_BYTES = 8 * 1024 * 1024
MAX_PIECES = 4
WORKBOOK_PART = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
SHEET_DATA, SHEET_DATA_END = b"<sheetData>", b"</sheetData>"
ROW_TAG = b'<row r="'
LOCAL_HEADER = struct.Struct("<4s22xHH")      # a zip entry's signature, then its name and extra field lengths
# Room the join may add (blank rows between pieces, columns one piece lacks) before a
# sheet is deemed too sparse to join safely and is left to calamine's plain parse.
SPARE_CELLS = 1_000_000


class NotSplit(Exception):
    """Why a sheet is parsed plainly instead."""


def split_threshold() -> int:
    return int(os.environ.get("CSAT_SPLIT_MIN_BYTES", SPLIT_MIN_BYTES))


def piece_count() -> int:
    wanted = os.environ.get("CSAT_SPLIT_PIECES")
    if wanted:
        return max(2, min(int(wanted), 16))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 2
    return max(2, min(cores, MAX_PIECES))


@dataclass
class Sheet:
    """A worksheet of the package: its name, state and part."""

    name: str
    state: str
    part: str


def sheets_of(archive: zipfile.ZipFile) -> list[Sheet]:
    """The worksheets named in xl/workbook.xml, each with the zip part its relationship points to."""
    from xml.etree import ElementTree

    texts = [archive.read(WORKBOOK_PART), archive.read(WORKBOOK_RELS)]
    if any(b"<!" in text for text in texts):
        raise NotSplit("a DTD or comment in the workbook part")
    targets = {}
    for element in ElementTree.fromstring(texts[1]).iter():
        if element.tag.rpartition("}")[2] == "Relationship" and element.get("TargetMode") != "External":
            targets[element.get("Id")] = element.get("Target") or ""
    sheets = []
    for element in ElementTree.fromstring(texts[0]).iter():
        if element.tag.rpartition("}")[2] != "sheet":
            continue
        relation = next((value for key, value in element.attrib.items() if key.rpartition("}")[2] == "id"), None)
        target = targets.get(relation)
        if not target or element.get("name") is None:
            continue
        part = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        sheets.append(Sheet(element.get("name"), element.get("state", "visible"), part))
    return sheets


def _row_number(data: bytes, at: int) -> int:
    """The number in the `<row r="N"` tag starting at `at`."""
    start = at + len(ROW_TAG)
    end = data.find(b'"', start, start + 12)
    digits = data[start:end] if end > 0 else b""
    if not digits.isdigit():
        raise NotSplit(f"an unreadable row number at byte {at}")
    return int(digits)


def cut_points(data: bytes, pieces: int) -> tuple[int, int, list[int]]:
    """(end of the prefix, start of the suffix, piece boundaries) of a sheet part's XML."""
    opening = data.find(SHEET_DATA)
    closing = data.rfind(SHEET_DATA_END)
    if opening < 0 or closing < opening:
        raise NotSplit("no <sheetData> element")
    prefix = data[:opening]
    declarations = prefix.count(b"<?")
    if b"<!" in prefix or declarations > 1 or (
            declarations and not prefix.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml")):
        raise NotSplit("a DTD, comment or processing instruction before the sheet data")
    body = opening + len(SHEET_DATA)
    bounds = [body]
    for number in range(1, pieces):
        cut = data.find(ROW_TAG, body + (closing - body) * number // pieces, closing)
        if cut <= bounds[-1]:
            continue
        previous = data.rfind(ROW_TAG, bounds[-1], cut)
        if previous >= 0 and _row_number(data, previous) >= _row_number(data, cut):
            raise NotSplit(f"row numbers do not rise at byte {cut}")
        bounds.append(cut)
    bounds.append(closing)
    if len(bounds) < 3:
        raise NotSplit("too few rows to cut")
    return body, closing, bounds


def check_piece(data: bytes, start: int, end: int) -> None:
    """Refuse a piece whose rows calamine might read differently on their own."""
    # A rare byte first: a one-byte search runs at memchr speed, a two-byte one starting with '<' does not.
    for rare, needle, why in ((b"!", b"<!", "a comment or CDATA"), (b"?", b"<?", "a processing instruction"),
                              (b"sheetData", b"sheetData", "a second sheetData"), (b":", b":row", "a prefixed row tag")):
        if data.find(rare, start, end) >= 0 and data.find(needle, start, end) >= 0:
            raise NotSplit(f"{why} inside the sheet data")
    if data.count(b"<row", start, end) != data.count(ROW_TAG, start, end):
        raise NotSplit('a <row> without r="..." first')


def _die_with_parent(parent: int) -> None:
    """Linux: let the kernel kill this child when the worker dies; elsewhere the pipe's SIGPIPE does."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError, TypeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def parse_piece(path: str, name: str, part: str, data: bytes, prefix_end: int, suffix_start: int,
                start: int, end: int, keep: list) -> tuple:
    """(start or None, height, columns) of the sheet when only rows data[start:end] are in it.

    The rows as calamine gave them go into `keep`: a child sends its columns first and
    exits without spending time freeing a million objects.
    """
    from python_calamine import CalamineWorkbook

    check_piece(data, start, end)
    view = memoryview(data)
    # An unlinked file in memory, opened by calamine through /proc: half the page faults
    # of a BytesIO, which calamine would copy whole.
    with scratch_file() as package:
        with zipfile.ZipFile(path) as original, zipfile.ZipFile(package, "w", zipfile.ZIP_STORED) as copy:
            for info in original.infolist():
                if info.filename == part:
                    with copy.open(zipfile.ZipInfo(part, info.date_time), "w") as stream:
                        stream.write(view[:prefix_end])
                        stream.write(view[start:end])
                        stream.write(view[suffix_start:])
                else:
                    copy.writestr(zipfile.ZipInfo(info.filename, info.date_time), original.read(info))
        del view
        package.flush()
        through = f"/proc/self/fd/{package.fileno()}"
        if os.path.exists(through):
            workbook = CalamineWorkbook.from_path(through)
        else:
            package.seek(0)
            workbook = CalamineWorkbook.from_filelike(package)
        sheet = workbook.get_sheet_by_name(name)
        grid = sheet.to_python(skip_empty_area=True)
        keep.extend((workbook, sheet, grid))
        anchor = sheet.start
        # Rows keyed by their place in the sheet, not in the piece: joining the pieces then needs no
        # new key for each of the later pieces' cells (unless the sheet starts below row 1: see join).
        height, columns = columns_of(grid, anchor[0] if anchor is not None else 0)
    return (tuple(anchor) if anchor is not None else None), height, columns


def scratch_file():
    """A file without a name, for a piece's package or the worker's output: in memory where the system
    has memfd (Linux), where writing half of a 100,000-row sheet takes a fifth of the time a temporary
    file on disk takes."""
    import tempfile

    if hasattr(os, "memfd_create"):
        try:
            return os.fdopen(os.memfd_create("csat-sheet", getattr(os, "MFD_CLOEXEC", 0)), "w+b")
        except OSError:
            pass
    return tempfile.TemporaryFile()


def inflate(path: str, info: zipfile.ZipInfo) -> bytes:
    """A part's bytes, checked against its CRC: one buffer of the exact size, not zipfile's chunks joined."""
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(LOCAL_HEADER.size)
        signature, name_length, extra_length = LOCAL_HEADER.unpack(header)
        if signature != b"PK\x03\x04":
            raise NotSplit("a damaged zip entry")
        handle.seek(name_length + extra_length, os.SEEK_CUR)
        raw = handle.read(info.compress_size)
    if info.compress_type == zipfile.ZIP_STORED:
        data = raw
    else:     # never more than the size declared (a zip bomb's part stops here), in one buffer of that size
        inflating = zlib.decompressobj(-zlib.MAX_WBITS)
        data = inflating.decompress(raw, info.file_size + 1)
        if inflating.unconsumed_tail:
            raise NotSplit("a zip entry that unpacks to more than its declared size")
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise NotSplit("a zip entry that does not match its size or CRC")
    return data


@dataclass
class Split:
    """A sheet being parsed as pieces by forked children: collect() joins them or says why not."""

    name: str
    children: list[tuple[int, int]] = field(default_factory=list)     # (pid, read end of its pipe)
    ending: list[int] = field(default_factory=list)      # pids of pieces whose columns came, maybe still ending
    why: Optional[str] = None
    part: Optional[str] = None       # the sheet's zip part, whose XML `data` held when it was cut
    marks: Optional[dict] = None     # marks.py's findings in that XML, scanned while the children parse
    # That part when its XML was found to unpack to exactly its declared size and CRC, with no DTD or entity
    # declaration: the guard's checks of it, deferred by the importer (guard.check_xlsx's defer_over).
    checked: Optional[str] = None

    def collect(self) -> Optional[dict]:
        """The joined sheet (first_row, first_column, height, columns, pieces), None if any piece failed."""
        try:
            return join(self._results())
        except NotSplit as exc:
            self.why = str(exc)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the plain parse still can
            self.why = f"{type(exc).__name__}: {exc}"
        finally:
            self.abandon()
        return None

    def _results(self) -> list[tuple]:
        """(start, height, width, pickled columns) of each piece. The columns stay as their child pickled
        them: the worker forwards them to the importer, which unpickles them once (joined_columns).

        A piece whose columns came whole (as long as its header says) is taken without waiting for its
        process to end: a child that held half of a 100,000-row sheet takes a few hundredths of a second
        to be torn down. It is reaped when it has ended (reap), or by the system when the worker ends.
        """
        results = []
        while self.children:
            pid, descriptor = self.children[0]
            self.children[0] = (pid, -1)
            with os.fdopen(descriptor, "rb") as pipe:
                try:
                    outcome = pickle.load(pipe)
                    payload = pipe.read() if outcome[0] == "ok" else b""
                except (EOFError, pickle.UnpicklingError, TypeError, IndexError):
                    outcome = None
            self.children.pop(0)
            if outcome is not None and outcome[0] == "ok" and payload and len(payload) == outcome[4]:
                self.ending.append(pid)
                results.append((outcome[1], outcome[2], outcome[3], payload))
                continue
            _, status = os.waitpid(pid, 0)
            if status != 0 or outcome is None or outcome[0] == "ok":
                raise NotSplit(f"a piece's reader ended with status {status}")
            raise NotSplit(outcome[1])
        return results

    def reap(self) -> None:
        """Reap the pieces' processes that have ended since their columns came (see _results); the rest
        are reaped by reap_all before the worker ends."""
        for pid in self.ending:
            try:
                if not os.waitpid(pid, os.WNOHANG)[0]:
                    _ending.append(pid)
            except ChildProcessError:
                pass
        self.ending = []

    def abandon(self) -> None:
        """Stop and reap the children not collected."""
        for pid, descriptor in self.children:
            if descriptor >= 0:
                os.close(descriptor)
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.children = []


_ending: list[int] = []     # pieces' processes still ending when their Split was done with


def reap_all() -> None:
    """Wait for every piece's process still ending (the worker calls it once its records are written)."""
    while _ending:
        try:
            os.waitpid(_ending.pop(), 0)
        except ChildProcessError:
            pass


def join(results: list[tuple]) -> dict:
    """One sheet from its pieces' (start, height, width, pickled columns), exactly as calamine would have
    placed the cells; the checks need only the pieces' places, so the columns are joined later, by whoever
    unpickles them (joined_columns): the worker sends them on as they came."""
    parts = [(start[0], start[1], height, width, payload) for start, height, width, payload in results
             if start is not None]
    if not parts:
        return {"first_row": 1, "first_column": 1, "height": 0, "columns": [], "pieces": len(results)}
    for (row, _, height, _, _), (next_row, _, _, _, _) in zip(parts, parts[1:]):
        if next_row < row + height:
            raise NotSplit("the pieces' rows overlap")
    first_row = parts[0][0]
    height = parts[-1][0] + parts[-1][2] - first_row
    first_column = min(column for _, column, _, _, _ in parts)
    width = max(column + columns for _, column, _, columns, _ in parts) - first_column
    if height * width > 2 * sum(part_height * columns for _, _, part_height, columns, _ in parts) + SPARE_CELLS:
        raise NotSplit("the pieces are too far apart to join")
    return {"first_row": first_row + 1, "first_column": first_column + 1, "height": height, "columns": None,
            "width": width, "parts": [(row - first_row, column - first_column, part_height, payload)
                                      for row, column, part_height, _, payload in parts],
            "pieces": len(results), "shift": -first_row}


def joined_columns(sheet: dict) -> list[Column]:
    """A sheet record's columns: as they are, or joined from its pieces (see join)."""
    if sheet.get("columns") is not None:
        return sheet["columns"]
    parts = [(offset, column, part_height, pickle.loads(payload))
             for offset, column, part_height, payload in sheet["parts"]]
    shift = sheet["shift"]
    joined = []
    for index in range(sheet["width"]):
        numbers, others = array("d"), {}
        for offset, column, part_height, columns in parts:
            if offset > len(numbers):
                numbers.extend(array("d", [NO_NUMBER]) * (offset - len(numbers)))
            position = index - column
            if 0 <= position < len(columns):
                piece = columns[position]
                numbers.extend(piece.numbers)
                # A piece's rows are keyed by their place in the sheet (parse_piece): shifted only when
                # the sheet's first row is not its row 1.
                if not others:         # the first piece with any: its dict as it came
                    others = ({at + shift: value for at, value in piece.others.items()} if shift
                              else piece.others)
                elif piece.others:
                    others.update(zip(map(shift.__add__, piece.others), piece.others.values()) if shift
                                  else piece.others)
            else:
                numbers.extend(array("d", [NO_NUMBER]) * part_height)
        joined.append(Column(numbers, others))
    return joined


def _plan(path: str, also: list[str], visible_only: bool) -> Optional[tuple[Sheet, bytes, int, int, list[int]]]:
    """The sheet to split and its cut XML, None when no wanted sheet is big enough; NotSplit if unsafe."""
    threshold = split_threshold()
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        big = {info.filename: info for info in infos
               if info.file_size > threshold and info.filename.startswith("xl/worksheets/")}
        if not big:
            return None
        if len({info.filename for info in infos}) != len(infos):
            raise NotSplit("duplicate names in the package")
        if any(info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 1
               for info in infos):
            raise NotSplit("an encrypted part or an unusual compression")
        wanted = [sheet for sheet in sheets_of(archive) if sheet.part in big
                  and (sheet.name in also or not visible_only or sheet.state == "visible")]
        if not wanted:
            return None
        sheet = max(wanted, key=lambda candidate: big[candidate.part].file_size)
        data = inflate(path, big[sheet.part])
    if len(data) <= threshold:
        return None
    try:
        prefix_end, suffix_start, bounds = cut_points(data, piece_count())
    except NotSplit as exc:
        exc.sheet = sheet.name
        raise
    return sheet, data, prefix_end, suffix_start, bounds


def start(path: str, also: list[str], visible_only: bool) -> Optional[Split]:
    """Fork the children parsing the biggest wanted sheet's pieces; None when it is small or not clearly safe.

    Call it before calamine parses anything in this process. A Split whose plan was unsafe
    carries no children and says why (for the record); parse that sheet plainly.
    """
    if not hasattr(os, "fork"):
        return None
    try:
        plan = _plan(path, also, visible_only)
    except NotSplit as exc:
        return Split(name=getattr(exc, "sheet", ""), why=str(exc))
    except Exception as exc:  # noqa: BLE001 - anything odd in the package: the plain parse will judge it
        return Split(name="", why=f"{type(exc).__name__}: {exc}")
    if plan is None:
        return None
    sheet, data, prefix_end, suffix_start, bounds = plan
    split = Split(name=sheet.name, part=sheet.part, checked=None if declares_entities(data) else sheet.part)
    parent = os.getpid()
    try:
        for start_at, end_at in zip(bounds, bounds[1:]):
            reading, writing = os.pipe()
            _widen(writing)
            try:
                pid = os.fork()
            except OSError:
                os.close(reading)
                os.close(writing)
                raise
            if pid == 0:
                inherited = [reading] + [descriptor for _, descriptor in split.children]
                _child(writing, inherited, parent, path, sheet, data, prefix_end, suffix_start, start_at, end_at)
            os.close(writing)
            split.children.append((pid, reading))
    except OSError as exc:   # no more processes or descriptors: parse plainly
        split.abandon()
        return Split(name=sheet.name, why=f"cannot start the pieces: {exc}")
    # The worker waits for its children now: it scans the XML it already inflated for what Excel
    # would not show (marks.py) instead of inflating the part again after the parse.
    from csat.sheets.marks import marks_of_bytes, workbook_percent_styles

    split.marks = marks_of_bytes(data, workbook_percent_styles(path))
    return split


def _widen(pipe: int) -> None:
    """Linux: let the pipe hold 1 MB instead of 64 KB, so a piece's columns (megabytes) pass to the worker
    in a few large writes, not a hundred hand-overs between the two processes."""
    try:
        import fcntl

        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


def _child(writing: int, inherited: list[int], parent: int, path: str, sheet: Sheet, data: bytes,
           prefix_end: int, suffix_start: int, start_at: int, end_at: int) -> None:
    """The body of a forked child: parse one piece, send the outcome, never return."""
    code = 1
    try:
        for descriptor in inherited:      # read ends held here would keep a pipe open after the worker died
            os.close(descriptor)
        _die_with_parent(parent)
        keep: list = []
        columns = None
        try:
            anchor, height, columns = parse_piece(path, sheet.name, sheet.part, data, prefix_end, suffix_start,
                                                  start_at, end_at, keep)
            outcome = ("ok", anchor, height, len(columns), 0)
        except NotSplit as exc:
            outcome = ("not split", str(exc))
        except BaseException as exc:  # noqa: BLE001 - calamine's errors and panics: the plain parse reports them
            outcome = ("not split", f"a piece failed: {type(exc).__name__}")
        # The columns follow their header, pickled once (see Split._results), and whole before any byte is
        # written: pickled straight into the pipe, they would wait, half made, for the worker to read the
        # pieces before this one, and be made only then.
        payload = pickle.dumps(columns, protocol=pickle.HIGHEST_PROTOCOL) if outcome[0] == "ok" else b""
        if outcome[0] == "ok":
            outcome = (*outcome[:4], len(payload))   # the worker knows the columns whole by their length
        with os.fdopen(writing, "wb") as pipe:
            pickle.dump(outcome, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            pipe.write(payload)
        code = 0
    finally:
        os._exit(code)
