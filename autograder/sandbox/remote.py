"""Remote: the Student interface (interface.py) for the names defined in a running
Sandbox (proxy.py), over its pipe and its shared arena.

Nothing from the sandbox is unpickled or evaluated: replies are wire.py frames that carry
only the student's values, checked here before use (anything malformed stops the sandbox
as a protocol error). share/observe use the arena (arena.py): observe reads the grader's
own mapping and never asks the student's process.
"""
import time

from autograder.sandbox import wire
from autograder.sandbox.errors import RequestTimeout
from autograder.sandbox.interface import NotTransferable, Ref, Student, StudentError


class _ShareEncoder(wire.Encoder):
    """Encodes a value for "share": each array is copied into the arena."""

    def __init__(self, arena):
        super().__init__()
        self.arena = arena

    def array(self, value):
        offset, dtype, shape = self.arena.put(value)
        return {"arena": [offset, dtype.str, list(shape)]}


class Remote(Student):
    """The Student interface (interface.py) for the names defined in a Sandbox.

    deadline: time.monotonic() after which requests that run student code fail with
    RequestTimeout (None: no deadline); the server interrupts the student's code there.
    share/observe use the sandbox's arena: observe never sends a request.
    """

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.deadline = None

    def _ref_of(self, value):
        return self._own(value) if isinstance(value, Ref) else None

    def _encode(self, values):
        encoder = wire.Encoder(ref_of=self._ref_of)
        return [encoder.value(v) for v in values], encoder.blobs

    def _request(self, message, blobs=()):
        timeout = None
        if self.deadline is not None:
            timeout = self.deadline - time.monotonic()
            if timeout <= 0:
                raise RequestTimeout()
        reply, reply_blobs = self.sandbox.request(message, blobs, timeout=timeout)
        if reply.get("ok") is True:
            return reply, reply_blobs
        if reply.get("timeout") is True:
            raise RequestTimeout()
        error = reply.get("error")
        if type(error) is dict:
            return self._raise(StudentError(str(error.get("type"))[:200], str(error.get("message"))[:2000]))
        if "not_transferable" in reply:
            raise NotTransferable(str(reply["not_transferable"])[:200])
        if "too_large" in reply:
            raise NotTransferable(f"超过 {wire.MAX_FRAME // 2**20} MB 的值")
        if reply.get("missing") is True:
            raise KeyError(message.get("name"))
        raise self.sandbox.protocol_error(reply)

    @staticmethod
    def _raise(error):
        raise error

    def _new_ref(self, reply, shared=None):
        handle = reply.get("ref")
        if type(handle) is not int:
            raise self.sandbox.protocol_error(reply)
        return Ref(self, handle, shared)

    def lookup(self, name):
        return self._new_ref(self._request({"op": "lookup", "name": name})[0])

    def call(self, fn, *args, **kwargs):
        encoded, blobs = self._encode([*args, *kwargs.values()])
        message = {"op": "call", "ref": self._own(fn), "args": encoded[:len(args)],
                   "kwargs": [[k, v] for k, v in zip(kwargs, encoded[len(args):])]}
        return self._new_ref(self._request(message, blobs)[0])

    def getattr(self, ref, name):
        return self._new_ref(self._request({"op": "getattr", "ref": self._own(ref), "name": name})[0])

    def getitem(self, ref, key):
        (key,), blobs = self._encode([key])
        return self._new_ref(self._request({"op": "getitem", "ref": self._own(ref), "key": key}, blobs)[0])

    def send(self, value):
        (tree,), blobs = self._encode([value])
        return self._new_ref(self._request({"op": "send", "value": tree}, blobs)[0])

    def fetch(self, ref):
        reply, blobs = self._request({"op": "fetch", "ref": self._own(ref)})
        try:
            return wire.Decoder(blobs).value(reply.get("value"))
        except wire.WireError as e:
            raise self.sandbox.protocol_error(e) from None

    def share(self, value):
        arena = self.sandbox.arena
        encoder = _ShareEncoder(arena)
        tree = encoder.value(value)
        reply, _ = self._request({"op": "share", "value": tree}, encoder.blobs)
        return self._new_ref(reply, shared=(arena.generation, tree, encoder.blobs))

    def observe(self, ref):
        self._own(ref)
        if ref.shared is None:
            raise TypeError("observe() needs a Ref made by share()")
        generation, tree, blobs = ref.shared
        arena = self.sandbox.arena
        if generation != arena.generation:
            raise ValueError("this shared value was released by forget()")
        return wire.Decoder(blobs, arena=arena.copy_out).value(tree)

    def forget(self):
        """Lets the server drop every object it holds for Refs made so far, and starts the
        arena afresh (Refs shared before can no longer be observed)."""
        try:
            self._request({"op": "forget"})
        finally:
            self.sandbox.arena.reset()
