"""Why the sandbox (proxy.Sandbox) or one request to it failed.

SandboxError and its kinds mean the sandbox is gone or unusable; RequestTimeout means one
request ran out of time while the sandbox goes on.
"""


class SandboxError(Exception):
    """The sandbox is gone or unusable; reason says why (in Chinese when it concerns the
    student's code, in English when the sandbox cannot start on this machine)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class SandboxDied(SandboxError):
    """The sandboxed process exited or was killed."""


class SandboxMemory(SandboxDied):
    """The kernel killed a process of the sandbox for exceeding the sandbox's memory (as
    the grader read it from the sandbox's memory cgroup): the sandbox has been stopped."""


class SandboxTimeout(SandboxError):
    """A request got no answer in time: the sandbox has been killed."""


class ProtocolError(SandboxError):
    """The sandbox sent something that is not a valid answer: it has been killed."""


class RequestTimeout(Exception):
    """The server interrupted the student's code at the request's time limit (the sandbox
    is still usable), or the deadline had passed before the request was sent."""
