"""The wire format between the grader and the student server: length-prefixed frames of
JSON plus raw ``.npy`` blobs. Standalone (stdlib + numpy): it is copied into the sandbox
next to student_server.py, and the grader imports it as ``autograder.sandbox.wire``.

Frame: 8-byte big-endian length L, then L bytes: a 4-byte big-endian length J, J bytes of
UTF-8 JSON (an object whose key ``"blobs"`` lists the byte length of each blob), then the
blobs back to back.

Values inside the JSON (arguments, results) are trees:

    None, true/false, numbers, strings      themselves (floats may be NaN / Infinity)
    [..]                                    list
    {"tuple": [..]}                         tuple
    {"dict": [[key, value], ..]}            dict (any keys that decode to hashable values)
    {"complex": [re, im]}                   complex
    {"nd": i}                               numpy array: blob i is its .npy file
    {"scalar": i}                           numpy scalar (np.float32(1.5), ...): blob i, 0-d
    {"dtype": "float32"}                    a numpy scalar type such as np.float32
    {"ref": n}                              an object held by the server (see student_server)
    {"arena": [offset, dtype, shape]}       an array placed in the shared arena (see below)

The arena is one block of shared memory (a sealed memfd that the grader creates and both
sides map; autograder/sandbox/arena.py). Only the grader writes "arena" trees, in a "share"
request: it has already copied the array's bytes to ``offset`` (a multiple of
ARENA_ALIGN), and the server decodes the tree into an ndarray backed by that memory, so
that what the student's code writes there is what the grader then reads from its own
mapping. A Decoder accepts the tag only when given an ``arena`` function; the grader never
accepts it from the sandbox.

Decoding never unpickles or evaluates anything: JSON, and ``np.load(allow_pickle=False)``
of numeric arrays only; sizes and nesting depth are bounded.
"""
import io
import json
import math
import re
import struct

import numpy as np
from numpy.lib import format as npy_format

MAX_FRAME = 64 * 1024 * 1024  # largest frame the grader accepts from the sandbox
MAX_DEPTH = 32                # deepest nesting of lists / tuples / dicts
ARENA_ALIGN = 64              # arena offsets are multiples of this
DTYPE_KINDS = "biufc"         # bool, int, uint, float, complex: the only array dtypes allowed
SCALAR_TYPES = {name: getattr(np, name) for name in (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool_", "complex64", "complex128")}

_ARENA_DTYPE = re.compile(r"[<>|=][biufc][0-9]{1,2}")
_LENGTH = struct.Struct(">Q")
_JSON_LENGTH = struct.Struct(">I")


class WireError(Exception):
    """A malformed, oversized or disallowed message."""


class NotTransferable(Exception):
    """A value that cannot travel (not an array, number, string, None or a container of
    those). ``type_name`` names its type."""

    def __init__(self, type_name):
        super().__init__(f"a value of type {type_name} cannot be transferred")
        self.type_name = type_name


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------

def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _numeric(dtype):
    return dtype.kind in DTYPE_KINDS and dtype.fields is None and dtype.subdtype is None


class _Walker:
    """Which values may travel, in one place: value() dispatches on the type and hands each
    part to the methods a subclass defines (Encoder: JSON trees; Copier: local copies)."""

    ref_of = None

    def value(self, value, depth=0):
        if depth > MAX_DEPTH:
            raise NotTransferable("nested deeper than %d levels" % MAX_DEPTH)
        if self.ref_of is not None:
            ref = self.ref_of(value)
            if ref is not None:
                return {"ref": ref}
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, np.ndarray):
            if not _numeric(value.dtype):
                raise NotTransferable(f"ndarray of dtype {value.dtype}")
            return self.array(np.asarray(value))
        if isinstance(value, np.generic):
            if not _numeric(value.dtype):
                raise NotTransferable(type(value).__name__)
            return self.scalar(value)
        if type(value) is complex:
            return self.complex(value)
        if isinstance(value, type) and any(value is t for t in SCALAR_TYPES.values()):
            return self.dtype(value)
        if isinstance(value, dict):
            return self.dict([(self.value(k, depth + 1), self.value(v, depth + 1))
                              for k, v in dict.items(value)])
        if isinstance(value, list):
            return self.list([self.value(v, depth + 1) for v in list.__iter__(value)])
        if isinstance(value, tuple):
            return self.tuple([self.value(v, depth + 1) for v in tuple.__iter__(value)])
        raise NotTransferable(type(value).__name__)


class Encoder(_Walker):
    """Turns values into JSON trees, collecting array bytes as blobs.

    ref_of(value) -> int or None: the id under which a value travels as a reference
    (the grader's Ref objects); None means "encode the value itself".
    """

    def __init__(self, ref_of=None, limit=None):
        self.blobs = []
        self.size = 0
        self.ref_of = ref_of
        self.limit = limit

    def _blob(self, data):
        self.size += len(data)
        if self.limit is not None and self.size > self.limit:
            raise WireError(f"message larger than {self.limit} bytes")
        self.blobs.append(data)
        return len(self.blobs) - 1

    def array(self, value):
        if self.limit is not None and self.size + value.nbytes > self.limit:
            raise WireError(f"message larger than {self.limit} bytes")
        return {"nd": self._blob(_npy_bytes(value))}

    def scalar(self, value):
        return {"scalar": self._blob(_npy_bytes(np.asarray(value)))}

    def complex(self, value):
        return {"complex": [value.real, value.imag]}

    def dtype(self, value):
        return {"dtype": next(name for name, t in SCALAR_TYPES.items() if t is value)}

    def dict(self, pairs):
        return {"dict": [list(pair) for pair in pairs]}

    def list(self, items):
        return items

    def tuple(self, items):
        return {"tuple": items}


class Copier(_Walker):
    """The value the other side would decode, made locally (what Direct hands over)."""

    def array(self, value):
        return np.array(value, copy=True)

    def scalar(self, value):
        return np.asarray(value).copy()[()]

    def complex(self, value):
        return value

    def dtype(self, value):
        return value

    def dict(self, pairs):
        result = {}
        for key, value in pairs:
            try:
                result[key] = value
            except TypeError:
                raise NotTransferable(f"dict key of type {type(key).__name__}") from None
        return result

    def list(self, items):
        return items

    def tuple(self, items):
        return tuple(items)


def _load_array(blob):
    """The array of an .npy blob. The header is checked first (numeric dtype, data size
    equal to shape x itemsize), so that a crafted header cannot make np.load allocate a
    huge array; then np.load(allow_pickle=False) reads it."""
    buffer = io.BytesIO(blob)
    try:
        version = npy_format.read_magic(buffer)
        read_header = {(1, 0): npy_format.read_array_header_1_0,
                       (2, 0): npy_format.read_array_header_2_0}[version]
        shape, _, dtype = read_header(buffer)
    except Exception as e:  # ValueError, KeyError, EOFError... on a crafted blob
        raise WireError(f"bad array header: {type(e).__name__}") from None
    if not _numeric(dtype):
        raise WireError("array of a disallowed dtype")
    if math.prod(shape) * dtype.itemsize != len(blob) - buffer.tell():
        raise WireError("array data does not match its header")
    buffer.seek(0)
    try:
        array = np.load(buffer, allow_pickle=False)
    except Exception as e:
        raise WireError(f"bad array: {type(e).__name__}") from None
    if type(array) is not np.ndarray or not _numeric(array.dtype):
        raise WireError("array of a disallowed dtype")
    return array


def arena_spec(body):
    """(offset, dtype, shape) of the body of an {"arena": ...} tree, checked: WireError
    unless offset is an aligned int, dtype a numeric dtype string such as "<f8" and shape
    a list of at most MAX_DEPTH ints in [0, 2**31)."""
    if type(body) is not list or len(body) != 3:
        raise WireError("bad arena value")
    offset, dtype, shape = body
    if type(offset) is not int or offset < 0 or offset % ARENA_ALIGN:
        raise WireError("bad arena offset")
    if type(dtype) is not str or not _ARENA_DTYPE.fullmatch(dtype):
        raise WireError("bad arena dtype")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise WireError("bad arena dtype") from None
    if not _numeric(dtype):
        raise WireError("bad arena dtype")
    if (type(shape) is not list or len(shape) > MAX_DEPTH
            or not all(type(n) is int and 0 <= n < 2 ** 31 for n in shape)):
        raise WireError("bad arena shape")
    return offset, dtype, tuple(shape)


def arena_array(buffer, offset, dtype, shape):
    """The ndarray of (offset, dtype, shape) inside buffer (a view, writable if buffer is),
    or WireError if it does not lie within buffer."""
    if offset + math.prod(shape) * dtype.itemsize > len(buffer):
        raise WireError("arena value outside the arena")
    return np.ndarray(shape, dtype=dtype, buffer=buffer, offset=offset)


class Decoder:
    """Turns JSON trees back into values. resolve(n) -> the object behind {"ref": n};
    arena(offset, dtype, shape) -> the array behind {"arena": ...} (checked by arena_spec).
    None means that tag is not allowed here."""

    def __init__(self, blobs, resolve=None, arena=None):
        self.blobs = blobs
        self.resolve = resolve
        self.arena = arena

    def _blob(self, index):
        if type(index) is not int or not 0 <= index < len(self.blobs):
            raise WireError("bad blob index")
        return self.blobs[index]

    def value(self, tree, depth=0):
        if depth > MAX_DEPTH:
            raise WireError("nested too deeply")
        if tree is None or type(tree) in (bool, int, float, str):
            return tree
        if type(tree) is list:
            return [self.value(v, depth + 1) for v in tree]
        if type(tree) is not dict or len(tree) != 1:
            raise WireError("bad value")
        (tag, body), = tree.items()
        if tag == "nd":
            return _load_array(self._blob(body))
        if tag == "scalar":
            array = _load_array(self._blob(body))
            if array.ndim != 0:
                raise WireError("scalar with a shape")
            return array[()]
        if tag == "tuple" and type(body) is list:
            return tuple(self.value(v, depth + 1) for v in body)
        if tag == "dict" and type(body) is list:
            result = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise WireError("bad dict item")
                key = self.value(pair[0], depth + 1)
                try:
                    result[key] = self.value(pair[1], depth + 1)
                except TypeError:
                    raise WireError("unhashable dict key") from None
            return result
        if tag == "complex" and type(body) is list and len(body) == 2 \
                and all(type(x) in (int, float) for x in body):
            return complex(*body)
        if tag == "dtype" and type(body) is str and body in SCALAR_TYPES:
            return SCALAR_TYPES[body]
        if tag == "ref" and type(body) is int and self.resolve is not None:
            return self.resolve(body)
        if tag == "arena" and self.arena is not None:
            return self.arena(*arena_spec(body))
        raise WireError(f"bad value tag {tag!r}")


def roundtrip(value):
    """value as the other side would decode it, through encoding and decoding."""
    encoder = Encoder()
    tree = encoder.value(value)
    return Decoder(encoder.blobs).value(tree)


def copy(value):
    """The same as roundtrip(value), made directly (faster): a deep copy that keeps only
    what can travel. Direct uses it, so that both paths see the same values."""
    return Copier().value(value)


# --------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------

def frame(message, blobs=(), limit=None):
    """bytes of one frame: message is a JSON-able dict (its "blobs" key is set here)."""
    message = dict(message, blobs=[len(b) for b in blobs])
    text = json.dumps(message, ensure_ascii=True, allow_nan=True).encode("ascii")
    body_length = _JSON_LENGTH.size + len(text) + sum(len(b) for b in blobs)
    if limit is not None and body_length > limit:
        raise WireError(f"message larger than {limit} bytes")
    return b"".join([_LENGTH.pack(body_length), _JSON_LENGTH.pack(len(text)), text, *blobs])


def frame_length(header, limit):
    """The body length announced by an 8-byte header; WireError if above limit."""
    (length,) = _LENGTH.unpack(header)
    if length > limit:
        raise WireError(f"message of {length} bytes is larger than the limit {limit}")
    if length < _JSON_LENGTH.size:
        raise WireError("message too short")
    return length


HEADER_SIZE = _LENGTH.size


def parse(body):
    """(message dict, [blob bytes]) of a frame body."""
    (text_length,) = _JSON_LENGTH.unpack_from(body)
    start = _JSON_LENGTH.size
    if start + text_length > len(body):
        raise WireError("truncated message")
    try:
        message = json.loads(body[start:start + text_length].decode("ascii"))
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise WireError("message is not valid JSON") from None
    if type(message) is not dict:
        raise WireError("message is not an object")
    lengths = message.get("blobs")
    if type(lengths) is not list or not all(type(n) is int and n >= 0 for n in lengths):
        raise WireError("bad blob list")
    offset = start + text_length
    if offset + sum(lengths) != len(body):
        raise WireError("blob lengths do not match the message length")
    blobs = []
    for n in lengths:
        blobs.append(body[offset:offset + n])
        offset += n
    return message, blobs
