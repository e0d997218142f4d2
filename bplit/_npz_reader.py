"""Reading ``.npz`` archives without trusting them: sizes are checked before anything is allocated.

:func:`numpy.load` reads a member's whole ``.npy`` data once it has parsed its header,
and allocates what the header says; :mod:`bplit.io` must first compare every member's
shape and dtype with what the file's configuration implies, and the configuration
with what the file holds. :class:`Archive` gives it the steps apart:

1. opening checks the zip directory: unique ``.npy`` member names, stored (not
   compressed, not encrypted) members, and a size for each that fits in the file;
2. :meth:`Archive.header` reads only a member's ``.npy`` header (shape, dtype) and
   checks that the member holds exactly the bytes that header describes: no Python
   objects (which only pickle could store), native byte order, non-negative sizes;
3. :meth:`Archive.read` reads the data into one array of exactly that size.

So a file never makes the reader allocate more than its own size, and a hostile or
damaged one gives an :class:`ArchiveError` (a ``ValueError``) that names the member. bplit writes its files
with :func:`numpy.savez`, whose members are stored uncompressed; an archive made with
:func:`numpy.savez_compressed` is refused (a compressed member could claim any size a
zip bomb likes).
"""

from __future__ import annotations

import math
import os
import zipfile
from typing import IO

import numpy as np

MAX_HEADER_SIZE = 10_000  # NumPy's own limit on a .npy header (characters)
CHUNK = 1 << 18  # bytes read at a time: the only memory beyond the array itself


class ArchiveError(ValueError):
    """The file is not an ``.npz`` archive that can be read safely (the message says why)."""


class Archive:
    """An ``.npz`` file opened for checked reading; use as a context manager.

    Parameters
    ----------
    name : str
        The file's name.

    Attributes
    ----------
    names : set of str
        The arrays it holds (member names without ``.npy``).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ArchiveError
        A ``ValueError``: if it is not a zip archive, or its directory is not one of an uncompressed
        ``.npz`` whose members fit in the file.
    """

    def __init__(self, name: str) -> None:
        self._fh: IO[bytes] = open(name, "rb")  # noqa: SIM115 (closed by close(), also on failure)
        try:
            size = os.fstat(self._fh.fileno()).st_size
            try:
                self._zip = zipfile.ZipFile(self._fh)
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                OSError,
                EOFError,
                ValueError,
                NotImplementedError,
            ) as err:
                raise ArchiveError(f"not a zip archive (.npz): {err}") from None
            self._infos: dict[str, zipfile.ZipInfo] = {}
            for info in self._zip.infolist():
                self._check_member(info, size)
                self._infos[info.filename[: -len(".npy")]] = info
        except BaseException:
            self.close()
            raise
        self.names = set(self._infos)
        self._headers: dict[str, tuple[tuple[int, ...], bool, np.dtype]] = {}

    def _check_member(self, info: zipfile.ZipInfo, size: int) -> None:
        name = info.filename
        if not name.endswith(".npy") or name[: -len(".npy")] in self._infos:
            what = "a second member" if name.endswith(".npy") else "a member that is not an .npy array"
            raise ArchiveError(f"the archive has {what}: {name[:80]!r}")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"member {name!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ArchiveError(
                f"member {name!r} is compressed (zip method {info.compress_type}); bplit reads the "
                "uncompressed members numpy.savez writes, so that no array is larger than the file"
            )
        if info.file_size != info.compress_size or info.header_offset + info.compress_size > size:
            raise ArchiveError(
                f"member {name!r} claims {info.file_size} bytes at offset {info.header_offset}, "
                f"but the file has only {size} bytes: it is truncated or corrupted"
            )

    def header(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """The shape and dtype of the array ``name``, read from its ``.npy`` header only.

        Raises
        ------
        KeyError
            If the archive holds no array ``name``.
        ArchiveError
            A ``ValueError``: if the header is malformed, describes Python objects, a foreign byte order
            or a negative size, or another number of bytes than the member holds.
        """
        if name not in self._headers:
            info = self._infos[name]
            with self._open(info) as fh:
                self._headers[name] = self._parse_header(info, fh)
        shape, _, dtype = self._headers[name]
        return shape, dtype

    def _open(self, info: zipfile.ZipInfo) -> IO[bytes]:
        try:
            return self._zip.open(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as err:
            raise ArchiveError(f"member {info.filename!r} cannot be read: {err}") from None

    def _parse_header(self, info: zipfile.ZipInfo, fh: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
        where = f"member {info.filename!r}"
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh, MAX_HEADER_SIZE)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh, MAX_HEADER_SIZE)
            else:
                raise ValueError(f".npy format version {version} (bplit reads 1.0 and 2.0)")
            header_size = fh.tell()
        except zipfile.BadZipFile as err:  # a small member is read whole, its checksum with it
            raise ArchiveError(f"{where} cannot be read: {err}") from None
        except (ValueError, OSError, EOFError, RecursionError) as err:
            raise ArchiveError(f"{where} has no valid .npy header: {str(err)[:200]}") from None
        if dtype.hasobject:
            raise ArchiveError(
                f"{where} holds Python objects (dtype {dtype}), which only pickle can store; "
                "bplit never unpickles"
            )
        if dtype.byteorder not in ("=", "|") and dtype != dtype.newbyteorder("="):
            raise ArchiveError(f"{where} has dtype {dtype.str}, not in this machine's byte order")
        if not all(type(n) is int and n >= 0 for n in shape):
            raise ArchiveError(f"{where} has an invalid shape {str(shape)[:80]}")
        nbytes = math.prod(shape) * dtype.itemsize
        if header_size + nbytes != info.file_size:
            raise ArchiveError(
                f"{where} holds {info.file_size - header_size} bytes of data, but its header "
                f"describes {nbytes} (shape {str(shape)[:80]}, dtype {dtype}): truncated or corrupted"
            )
        return shape, fortran, dtype

    def read(self, name: str) -> np.ndarray:
        """The array ``name``: its header checked (:meth:`header`), then its data read.

        Raises
        ------
        KeyError
            If the archive holds no array ``name``.
        ArchiveError
            As :meth:`header`, or if the data is cut short or fails its checksum.
        """
        self.header(name)
        shape, fortran, dtype = self._headers[name]
        info = self._infos[name]
        out = np.empty(shape[::-1] if fortran else shape, dtype)
        flat = out.reshape(-1).view(np.uint8)  # the array's own bytes (it is contiguous)
        with self._open(info) as fh:
            try:
                self._parse_header(info, fh)  # the same bytes as before; moves to the data
                pos = 0
                while pos < flat.size:
                    chunk = fh.read(min(CHUNK, flat.size - pos))
                    if not chunk:
                        raise EOFError(f"the data ends after {pos} of {flat.size} bytes")
                    flat[pos : pos + len(chunk)] = np.frombuffer(chunk, np.uint8)
                    pos += len(chunk)
                if fh.read(1):
                    raise ValueError("data beyond the array")
            except ArchiveError:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
                raise ArchiveError(f"member {info.filename!r} cannot be read: {err}") from None
        return out.T if fortran else out

    def close(self) -> None:
        """Close the file (and the archive on it)."""
        zf = self.__dict__.get("_zip")
        if zf is not None:
            zf.close()
        self._fh.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
