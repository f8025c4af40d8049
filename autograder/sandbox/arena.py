"""The grader's shared memory with a sandbox: where the facts the checks rest on are read.

An Arena is one memfd that the grader creates (os.memfd_create with MFD_ALLOW_SEALING),
sizes (64 MiB by default) and then seals with F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL:
nobody can change its size any more, nor add or remove seals. The grader maps it; the
descriptor is inherited by the student server (through bubblewrap, which keeps inherited
descriptors), which maps it too.

``Remote.share(value)`` copies every array of value into the arena (a bump allocator:
offsets only grow, aligned to wire.ARENA_ALIGN) and the server hands the student's code
ndarrays backed by that memory; ``Remote.observe(ref)`` copies those bytes back out of the
grader's own mapping. The grader therefore learns what the student's code did to those
arrays (updated them in place, or left them alone) without asking the student's process,
whose answers a notebook could falsify. The student's code may write anywhere in the arena,
at any time (even from a background thread): everything in it is data the grader gave to
the student, so that amounts to no more than computing the answers. Because the size is
sealed, the student cannot truncate the memfd under the grader's mapping (which would make
the grader's reads fault with SIGBUS); punching holes only zeroes pages.

``reset()`` (Remote.forget, between checks) starts allocating from offset 0 again and
makes the Refs shared before it unobservable; an allocation that does not fit raises
ArenaFull.
"""
import fcntl
import mmap
import os

import numpy as np

from autograder.sandbox import wire

__all__ = ["Arena", "ArenaFull", "ARENA_BYTES"]

ARENA_BYTES = 64 * 1024 * 1024
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL


class ArenaFull(RuntimeError):
    """share() needs more room than the arena has left until the next reset()."""


class Arena:
    """A sealed memfd of ``size`` bytes mapped in this process. ``fd`` is the descriptor
    to pass to the sandbox (close_fd() once it has been started); ``generation`` counts
    the resets."""

    def __init__(self, size=ARENA_BYTES):
        self.size = size
        self.used = 0
        self.generation = 0
        self.fd = os.memfd_create("autograder-arena", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(self.fd, size)
            fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, _SEALS)
            self.map = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(self.fd)
            raise

    def put(self, array):
        """Copies array into the arena -> (offset, dtype, shape) of the copy."""
        array = np.asarray(array)
        offset = -(-self.used // wire.ARENA_ALIGN) * wire.ARENA_ALIGN
        if offset + array.nbytes > self.size:
            raise ArenaFull(f"the sandbox's shared arena is full: {array.nbytes} bytes requested, "
                            f"{max(self.size - offset, 0)} of {self.size} left until forget()")
        wire.arena_array(self.map, offset, array.dtype, array.shape)[...] = array
        self.used = offset + array.nbytes
        return offset, array.dtype, array.shape

    def copy_out(self, offset, dtype, shape):
        """A copy of the arena's current bytes at (offset, dtype, shape)."""
        return np.array(wire.arena_array(self.map, offset, dtype, shape), copy=True)

    def reset(self):
        """Allocates from offset 0 again; what was shared before can no longer be observed."""
        self.used = 0
        self.generation += 1

    def close_fd(self):
        """Closes the descriptor (the mapping stays)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def close(self):
        self.close_fd()
        try:
            self.map.close()
        except BufferError:  # an array still views the mapping: it goes with the last one
            pass
