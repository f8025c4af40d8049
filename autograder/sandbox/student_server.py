"""The student's side of verification: runs the student's code cells, then answers the
grader's requests about the names they defined. Runs INSIDE the sandbox, as a script:

    python -I -B -S student_server.py ARENA_FD ARENA_BYTES MAX_TASKS SITE_DIR...

It imports only the standard library, numpy, IPython and its sibling wire.py (the
message format) -- never ``autograder``, which does not exist in the sandbox. Python runs
without ``site`` (-S): the folders holding numpy and IPython come as arguments and are
appended to sys.path as they are, without running their .pth hooks.

Start-up, before any student code runs: every inherited descriptor other than 0, 1, 2 and
ARENA_FD is closed; the arena (the grader's sealed memfd, see autograder/sandbox/arena.py)
is mapped read-write; if MAX_TASKS > 0, RLIMIT_NPROC is set to it (inside bubblewrap's user
namespace this bounds the processes and threads of the sandbox, this server included).

Protocol: the grader writes request frames to this process's stdin and reads reply frames
from its stdout (see wire.py). Before any student code runs, those two descriptors are
duplicated to private ones and fds 0, 1, 2 are pointed at /dev/null, so nothing the
student prints can reach (or block) the grader. The server first sends {"ok": true,
"hello": ...}, then one reply per request:

    {"op": "run_cell", "source": str, "timeout": s}  -> {"ok": true, "error": null | "Type: msg",
                                                        "timeout": bool}
    {"op": "lookup", "name": str}                   -> {"ok": true, "ref": n} | {"ok": false, "missing": true}
    {"op": "call", "ref": n, "args": [v], "kwargs": [[k, v]], "timeout": s}
    {"op": "getattr", "ref": n, "name": str, "timeout": s}
    {"op": "getitem", "ref": n, "key": v, "timeout": s}
    {"op": "send", "value": v}                      -> {"ok": true, "ref": n}
    {"op": "share", "value": v}                     -> {"ok": true, "ref": n}  (arrays in the arena)
    {"op": "fetch", "ref": n}                       -> {"ok": true, "value": v}
                                                     | {"ok": false, "not_transferable": "TypeName"}
    {"op": "forget"}                                -> {"ok": true}  (drops every ref)
    {"op": "exit"}

An exception in the student's code gives {"ok": false, "error": {"type": ..., "message": ...}};
running out of the request's time gives {"ok": false, "timeout": true}. Values (v) are
wire.py trees; {"ref": n} inside arguments stands for an object this server holds, and
{"arena": [offset, dtype, shape]} (share only) for an ndarray backed by the arena.

Nothing this process answers is trusted for a fact the grader can observe itself: the
student's code runs here and may replace any of it. Whether arrays the grader shared were
modified is read by the grader from its own mapping of the arena (Remote.observe).
"""
import gc
import mmap
import os
import resource
import signal
import sys

MAX_TEXT = 2000  # longest exception text sent back


# Bound now: the student's code may replace the module attributes later.
_signal, _setitimer, _ITIMER_REAL, _SIGALRM = signal.signal, signal.setitimer, signal.ITIMER_REAL, signal.SIGALRM
_read, _write = os.read, os.write


class TimeLimit(BaseException):
    """Raised by SIGALRM inside the student's code when a request runs out of time."""


def _on_alarm(signum, frame):
    raise TimeLimit()


def _text(value):
    try:
        text = str(value)
    except BaseException:
        text = "<unprintable>"
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "..."


def _error_text(error):
    if isinstance(error, TimeLimit):
        return "TimeLimit"
    return f"{type(error).__name__}: {_text(error)}"


class Server:
    def __init__(self, fd_in, fd_out, wire, arena):
        self.fd_in = fd_in
        self.fd_out = fd_out
        self.wire = wire
        self.arena = arena  # the shared mmap
        self.refs = {}
        self.next_ref = 1
        self.shell = None

    # --- frames ---------------------------------------------------------------------

    def _read_exact(self, n):
        chunks = []
        while n:
            chunk = _read(self.fd_in, min(n, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def receive(self):
        length = self.wire.frame_length(self._read_exact(self.wire.HEADER_SIZE), 1 << 30)
        return self.wire.parse(self._read_exact(length))

    def reply(self, message, blobs=()):
        try:
            data = self.wire.frame(message, blobs, limit=self.wire.MAX_FRAME - 64)
        except self.wire.WireError as e:
            data = self.wire.frame({"ok": False, "too_large": _text(e)})
        view = memoryview(data)
        while view:
            written = _write(self.fd_out, view)
            view = view[written:]

    # --- student objects --------------------------------------------------------------

    def keep(self, obj):
        ref = self.next_ref
        self.next_ref += 1
        self.refs[ref] = obj
        return ref

    def resolve(self, ref):
        try:
            return self.refs[ref]
        except KeyError:
            raise self.wire.WireError(f"unknown ref {ref}") from None

    def decode(self, tree, blobs):
        return self.wire.Decoder(blobs, self.resolve).value(tree)

    def arena_array(self, offset, dtype, shape):
        return self.wire.arena_array(self.arena, offset, dtype, shape)

    # --- running cells ----------------------------------------------------------------

    def start_shell(self):
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False
        self.shell = InteractiveShell.instance(config=config)
        # %matplotlib would switch to the inline backend, which renders every figure:
        # the Agg backend (MPLBACKEND) never renders unless asked to.
        self.shell.register_magic_function(lambda line="": None, "line", "matplotlib")

    def run_cell(self, source):
        result = self.shell.run_cell(source, store_history=True)
        error = result.error_before_exec or result.error_in_exec
        # A traceback keeps the failed cell's frames (and their memory) alive.
        sys.last_type = sys.last_value = sys.last_traceback = None
        if hasattr(sys, "last_exc"):
            sys.last_exc = None
        if error is None:
            return {"ok": True, "error": None, "timeout": False}
        return {"ok": True, "error": _error_text(error), "timeout": isinstance(error, TimeLimit)}

    # --- requests ---------------------------------------------------------------------

    def handle(self, message, blobs):
        op = message.get("op")
        if op == "run_cell":
            return self.run_cell(message["source"])
        if op == "lookup":
            namespace = self.shell.user_ns if self.shell is not None else {}
            name = message["name"]
            if type(name) is not str or name not in namespace:
                return {"ok": False, "missing": True}
            return {"ok": True, "ref": self.keep(namespace[name])}
        if op == "call":
            fn = self.resolve(message["ref"])
            args = [self.decode(a, blobs) for a in message["args"]]
            kwargs = {k: self.decode(v, blobs) for k, v in message["kwargs"]}
            return {"ok": True, "ref": self.keep(fn(*args, **kwargs))}
        if op == "getattr":
            return {"ok": True, "ref": self.keep(getattr(self.resolve(message["ref"]), message["name"]))}
        if op == "getitem":
            obj = self.resolve(message["ref"])
            return {"ok": True, "ref": self.keep(obj[self.decode(message["key"], blobs)])}
        if op == "send":
            return {"ok": True, "ref": self.keep(self.decode(message["value"], blobs))}
        if op == "share":
            value = self.wire.Decoder(blobs, arena=self.arena_array).value(message["value"])
            return {"ok": True, "ref": self.keep(value)}
        if op == "fetch":
            encoder = self.wire.Encoder(limit=self.wire.MAX_FRAME - (1 << 20))
            try:
                tree = encoder.value(self.resolve(message["ref"]))
            except self.wire.NotTransferable as e:
                return {"ok": False, "not_transferable": _text(e.type_name)}
            except self.wire.WireError as e:
                return {"ok": False, "too_large": _text(e)}
            return {"ok": True, "value": tree}, encoder.blobs
        if op == "forget":
            self.refs.clear()
            gc.collect()
            return {"ok": True}
        if op == "ping":
            return {"ok": True}
        raise self.wire.WireError(f"unknown op {op!r}")

    def serve(self):
        while True:
            try:
                message, blobs = self.receive()
            except EOFError:
                return
            if message.get("op") == "exit":
                return
            timeout = message.get("timeout")
            try:
                # Student code may have replaced the handler: put ours back every time.
                _signal(_SIGALRM, _on_alarm)
                if type(timeout) in (int, float) and timeout > 0:
                    _setitimer(_ITIMER_REAL, timeout)
                try:
                    answer = self.handle(message, blobs)
                finally:
                    _setitimer(_ITIMER_REAL, 0)
            except TimeLimit:
                answer = {"ok": False, "timeout": True}
            except self.wire.WireError as e:
                answer = {"ok": False, "protocol": _text(e)}
            except BaseException as e:  # the student's exception, SystemExit included
                answer = {"ok": False, "error": {"type": _text(type(e).__name__), "message": _text(e)}}
            if isinstance(answer, tuple):
                self.reply(*answer)
            else:
                self.reply(answer)


def _close_inherited(keep):
    """Closes every descriptor above 2 except those in keep (bubblewrap's and the
    grader's leftovers: nothing the student's code should hold)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:  # the listing's own descriptor, already closed
                pass


def main(arena_fd, arena_bytes, max_tasks, site_dirs):
    _close_inherited({arena_fd})
    arena = mmap.mmap(arena_fd, arena_bytes, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    os.close(arena_fd)  # the mmap object holds its own duplicate
    if max_tasks > 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (max_tasks, max_tasks))

    # The protocol gets private descriptors; once the server is set up (import errors
    # still reach the grader's log through fd 2), fds 0, 1, 2 go to /dev/null, before
    # any student code runs, so prints cannot corrupt or block the protocol.
    fd_in, fd_out = os.dup(0), os.dup(1)

    sys.path.extend(d for d in site_dirs if d not in sys.path)  # numpy, IPython (run with -S)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import wire  # noqa: E402  (the sibling file, copied next to this one)
    # The student's imports must not see this folder, and may define their own "wire".
    sys.path[:] = [p for p in sys.path if p != here]
    sys.modules.pop("wire", None)

    server = Server(fd_in, fd_out, wire, arena)
    try:
        server.start_shell()
        os.chdir(os.environ.get("STUDENT_WORKDIR", os.getcwd()))
        sys.path.insert(0, os.getcwd())  # utils.py and public_tests.py, as in Jupyter
    except BaseException as e:
        server.reply({"ok": False, "error": {"type": type(e).__name__, "message": _text(e)}})
        return 1

    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    server.reply({"ok": True, "hello": "student_server 1", "python": sys.version.split()[0]})
    server.serve()
    return 0


if __name__ == "__main__":
    # os._exit: no atexit hooks (IPython's, or ones the student registered) after serving.
    os._exit(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]) or 0)
