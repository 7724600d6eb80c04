"""What ``linpc reproduce`` keeps on disk: record schemas, figure-file checks, portable paths.

A run leaves three kinds of record in its results folder ``<out>``:

* **stage records** ``<out>/state/<stage>-<mode>.json`` (``proofs``, ``verify``), checked by
  :func:`check_stage_record`;
* **figure records** ``<out>/state/figures/<name>-<mode>.json``, checked by
  :func:`check_figure_record`;
* **sweep point records** ``<out>/cache/<sweep>/<key>.npz``, whose metadata
  :func:`check_sweep_meta` checks (:mod:`linpc.reproduce.sweeps` checks the arrays).

Every record is checked against its schema before it is reused. A record that cannot be read or
does not have the structure of its schema is *corrupt*: it is recomputed, with a
:class:`CacheWarning` that names the file. A well-formed record of another mode or linpc version
is *stale* and is recomputed without a warning.

A figure counts as reused only if every file its record names passes :func:`check_figure_file`:
a PNG must have the PNG signature, an ``IHDR`` chunk first and an ``IEND`` chunk last, correct
chunk CRCs and ``IDAT`` data that decompress (zlib) to exactly the size the header implies; a PDF
must start with ``%PDF-``, end with ``startxref`` and ``%%EOF`` and hold at least
:data:`MIN_PDF_BYTES` bytes.

Paths inside records are relative to the results folder (:func:`record_path`,
:func:`resolve_record_path`), and the report links files relative to itself, so a results folder
can be moved or archived and reused where it lands.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "MIN_PDF_BYTES", "CacheWarning", "RecordError", "check_figure_file", "check_figure_record",
    "check_pdf", "check_png", "check_stage_record", "check_sweep_meta", "damaged_files",
    "record_path", "resolve_record_path",
]

#: Smallest PDF accepted as a figure (an empty matplotlib figure takes about 1.1 kB).
MIN_PDF_BYTES = 512

#: Run modes of ``linpc reproduce``.
MODES = ("quick", "full")


class CacheWarning(UserWarning):
    """A record or cache entry was unreadable or malformed and is being recomputed."""


class RecordError(ValueError):
    """A record does not have the structure of its schema."""


# ------------------------------------------------------------------------------------- schemas
class _Maybe:
    """Schema wrapper: the key may be absent, or its value ``None``."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema


_INT = "int"          # an int, not a bool
_NUMBER = "number"    # an int or a float (NaN allowed), not a bool
_SECONDS = "seconds"  # a finite number ≥ 0
_ANY_DICT = "dict"    # any JSON object


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check(value: Any, schema: Any, where: str) -> None:
    """Raise :class:`RecordError` unless ``value`` has the structure ``schema`` describes."""
    if isinstance(schema, _Maybe):
        if value is None:
            return
        schema = schema.schema
    if schema == _INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "an integer"
    elif schema in (_NUMBER, _SECONDS):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and schema == _SECONDS:
            ok = math.isfinite(value) and value >= 0
        expected = "a number" if schema == _NUMBER else "a finite number ≥ 0"
    elif schema == _ANY_DICT:
        ok, expected = isinstance(value, dict), "an object"
    elif schema is bool:
        ok, expected = isinstance(value, bool), "true or false"
    elif schema is str:
        ok, expected = isinstance(value, str), "a string"
    elif isinstance(schema, list):
        if not isinstance(value, list):
            raise RecordError(f"{where} must be a list, got {_type_name(value)}")
        for i, item in enumerate(value):
            _check(item, schema[0], f"{where}[{i}]")
        return
    elif isinstance(schema, dict):
        if not isinstance(value, dict):
            raise RecordError(f"{where} must be an object, got {_type_name(value)}")
        for key, sub in schema.items():
            if key not in value:
                if isinstance(sub, _Maybe):
                    continue
                raise RecordError(f"{where} has no field {key!r}")
            _check(value[key], sub, f"{where}.{key}")
        return
    else:  # pragma: no cover - a schema typo
        raise TypeError(f"unknown schema {schema!r}")
    if not ok:
        shown = repr(value) if isinstance(value, int | float | bool | str | None) else \
            _type_name(value)
        raise RecordError(f"{where} must be {expected}, got {shown[:60]}")


#: One row of the verify stage (:func:`linpc.reproduce.runner.run_reproduce` writes it).
VERIFY_ROW = {
    "key": str, "title": str, "source": str, "rule": str, "cases": _INT, "checks": _INT,
    "passed": bool, "worst_error": _Maybe(_NUMBER), "tolerance": _Maybe(_NUMBER),
    "worst_case": _Maybe(str), "errors": [str],
}
#: One row of the proofs stage (``python -m proofs --json -``).
PROOF_ROW = {
    "script": str, "status": str, "statements": _INT, "seconds": _Maybe(_NUMBER),
    "passed": _Maybe(_INT), "failed": _Maybe(_INT), "defects": _Maybe([str]),
}
STAGE_ROWS = {"verify": VERIFY_ROW, "proofs": PROOF_ROW}

_HEADER = {"mode": str, "version": str, "finished": _Maybe(str)}

FIGURE_SPEC = {"name": str, "title": str, "source": str, "check": str, "runtime": str,
               "data": str}
FIGURE_CHECK = {"name": str, "value": _NUMBER, "tolerance": _NUMBER, "rule": str,
                "passed": _Maybe(bool)}
FIGURE_RESULT = {"spec": FIGURE_SPEC, "files": [str], "checks": [FIGURE_CHECK],
                 "seconds": _SECONDS, "error": _Maybe(str), "quick": bool}

#: Metadata of one sweep point (``__meta__`` of its ``.npz`` file).
SWEEP_META = {"schema": _INT, "linpc": str, "sweep": str, "version": str, "seed": _INT,
              "point": _ANY_DICT, "seed_entropy": [_INT], "seconds": _SECONDS}


def _check_header(record: Any, where: str) -> None:
    _check(record, _HEADER, where)
    if record["mode"] not in MODES:
        raise RecordError(f"{where}.mode must be one of {MODES}, got {record['mode']!r}")


def check_stage_record(record: Any, stage: str) -> None:
    """Raise :class:`RecordError` unless ``record`` is a well-formed record of ``stage``.

    A stage record holds ``mode``, ``version``, ``passed``, ``seconds`` and ``rows`` (one object
    per theorem row or proof script, with the fields the report shows).
    """
    if stage not in STAGE_ROWS:
        raise ValueError(f"unknown stage {stage!r}; stages are {sorted(STAGE_ROWS)}")
    _check_header(record, "record")
    _check(record, {"passed": bool, "seconds": _SECONDS, "rows": [STAGE_ROWS[stage]]}, "record")


def check_figure_record(record: Any, name: str) -> None:
    """Raise :class:`RecordError` unless ``record`` is a well-formed record of figure ``name``.

    Besides the field types: the spec must name this figure, and every file path must be
    relative to the results folder without ``..`` (or absolute, for a file outside it).
    """
    _check_header(record, "record")
    _check(record, {"result": FIGURE_RESULT}, "record")
    res = record["result"]
    if res["spec"]["name"] != name:
        raise RecordError(f"record.result.spec.name is {res['spec']['name']!r}, expected "
                          f"{name!r}")
    for i, f in enumerate(res["files"]):
        p = PurePosixPath(f)
        if not f or (not p.is_absolute() and ".." in p.parts):
            raise RecordError(f"record.result.files[{i}] ({f!r}) is not a path inside the "
                              "results folder")


def check_sweep_meta(meta: Any) -> None:
    """Raise :class:`RecordError` unless ``meta`` is well-formed sweep-point metadata."""
    _check(meta, SWEEP_META, "metadata")


# ------------------------------------------------------------------------------------- paths
def record_path(path: str | os.PathLike, out: str | os.PathLike) -> str:
    """``path`` as stored in a record: relative to the results folder ``out``, POSIX separators.

    A file outside ``out`` keeps its absolute path (it cannot move with the folder).
    """
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(out))
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return Path(os.path.abspath(path)).as_posix()
    return Path(rel).as_posix()


def resolve_record_path(stored: str, out: str | os.PathLike) -> Path:
    """The file a record's path names, for a results folder now at ``out``."""
    p = PurePosixPath(stored)
    return Path(stored) if p.is_absolute() else Path(out).joinpath(*p.parts)


# -------------------------------------------------------------------------------- figure files
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Samples per pixel of each PNG colour type, and the bit depths it allows.
_PNG_COLOUR = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)),
               4: (2, (8, 16)), 6: (4, (8, 16))}
#: Adam7 passes: (x0, y0, dx, dy).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))


def _png_raw_size(width: int, height: int, bits: int, samples: int, interlace: int) -> int:
    """Bytes of the decompressed image data: per scanline one filter byte plus the pixels."""
    def row_bytes(w: int) -> int:
        return (w * samples * bits + 7) // 8

    if interlace == 0:
        return height * (1 + row_bytes(width))
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        w = (width - x0 + dx - 1) // dx if width > x0 else 0
        h = (height - y0 + dy - 1) // dy if height > y0 else 0
        if w and h:
            total += h * (1 + row_bytes(w))
    return total


def check_png(path: str | os.PathLike) -> str | None:
    """``None`` if ``path`` is a complete, decodable PNG; else what is wrong with it."""
    data = Path(path).read_bytes()
    if not data.startswith(_PNG_SIGNATURE):
        return "no PNG signature"
    pos, chunks, idat, header = len(_PNG_SIGNATURE), [], [], None
    while pos < len(data):
        if pos + 12 > len(data):
            return "truncated chunk header"
        length = int.from_bytes(data[pos:pos + 4], "big")
        ctype = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            return f"chunk {ctype!r} is truncated"
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(ctype + body) != int.from_bytes(data[end - 4:end], "big"):
            return f"CRC mismatch in chunk {ctype!r}"
        if not chunks and ctype != b"IHDR":
            return "the first chunk is not IHDR"
        chunks.append(ctype)
        pos = end
        if ctype == b"IHDR":
            if length != 13:
                return "IHDR has the wrong length"
            header = (int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big"),
                      body[8], body[9], body[10], body[11], body[12])
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
    if not chunks or chunks[-1] != b"IEND":
        return "no IEND chunk"
    if pos != len(data):
        return f"{len(data) - pos} bytes after IEND"
    if header is None or chunks.count(b"IHDR") != 1:
        return "not exactly one IHDR chunk"
    if not idat:
        return "no IDAT chunk"
    width, height, bits, colour, compression, filtering, interlace = header
    if colour not in _PNG_COLOUR or bits not in _PNG_COLOUR[colour][1] or width < 1 \
            or height < 1 or compression != 0 or filtering != 0 or interlace not in (0, 1):
        return f"invalid IHDR {header}"
    expected = _png_raw_size(width, height, bits, _PNG_COLOUR[colour][0], interlace)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(b"".join(idat), expected + 1)
    except zlib.error as exc:
        return f"IDAT does not decompress ({exc})"
    if len(raw) != expected or inflater.unconsumed_tail or not inflater.eof:
        return (f"IDAT decompresses to {len(raw)}{'+' if inflater.unconsumed_tail else ''} "
                f"bytes{'' if inflater.eof else ' (stream incomplete)'}, expected {expected}")
    if interlace == 0 and max(raw[:: expected // height]) > 4:
        return "invalid scanline filter type"
    return None


def check_pdf(path: str | os.PathLike) -> str | None:
    """``None`` if ``path`` looks like a complete PDF (header, trailer, size); else the defect."""
    path = Path(path)
    size = path.stat().st_size
    if size < MIN_PDF_BYTES:
        return f"only {size} bytes (a figure PDF has at least {MIN_PDF_BYTES})"
    with open(path, "rb") as fh:
        head = fh.read(5)
        fh.seek(max(0, size - 1024))
        tail = fh.read()
    if head != b"%PDF-":
        return "does not start with %PDF-"
    if b"%%EOF" not in tail[-64:]:
        return "no %%EOF at the end"
    if b"startxref" not in tail:
        return "no startxref trailer"
    return None


def check_figure_file(path: str | os.PathLike) -> str | None:
    """``None`` if a figure file is present and intact (:func:`check_png`, :func:`check_pdf`;
    other files must be non-empty); else what is wrong with it."""
    path = Path(path)
    try:
        if not path.is_file():
            return "missing"
        suffix = path.suffix.lower()
        if suffix == ".png":
            return check_png(path)
        if suffix == ".pdf":
            return check_pdf(path)
        return None if path.stat().st_size > 0 else "empty"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"


def damaged_files(paths: Iterable[str | os.PathLike]) -> dict[Path, str]:
    """The files among ``paths`` that fail :func:`check_figure_file`, with the reason."""
    out = {}
    for p in paths:
        reason = check_figure_file(p)
        if reason is not None:
            out[Path(p)] = reason
    return out
