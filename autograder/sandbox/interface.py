"""The one interface through which the hidden checks talk to the student's code.

A check never holds a student object itself: it holds Refs, handles to objects that live
in the student's world, and asks a Student to act on them:

    lookup(name) -> Ref             a name the notebook defined (KeyError if it did not)
    call(fn, *args, **kwargs) -> Ref  fn(*args, **kwargs) in the student's world; fn is a Ref;
                                    each argument is a Ref or a local value (sent as a copy)
    getattr(ref, name) -> Ref
    getitem(ref, key) -> Ref
    send(value) -> Ref              a copy of a local value placed in the student's world
    fetch(ref) -> value             a local copy of a student value, as the student's side
                                    reports it
    share(value) -> Ref             like send, but the arrays of value (an array, or
                                    dicts / lists / tuples holding arrays) are placed where
                                    the grader can still see them
    observe(ref) -> value           for a Ref made by share: the value as the grader sees
                                    it now (same structure as shared, its arrays' current
                                    contents, copied), without asking the student's side

Values that travel (send, fetch, share, arguments): numpy arrays of numeric or bool dtype,
numpy scalars, None, bool, int, float, complex, str, numpy scalar types such as np.float32,
and lists / tuples / dicts of those (wire.py). Anything else raises wire.NotTransferable.

What the grader must be able to rely on comes from observe, never from fetch: in the
sandbox, the process that answers fetch runs the student's code, which can change how it
answers. Whether the student's code modified an input, or updated parameters in place, is
what observe shows: the shared arrays themselves, whatever the student's containers now
hold (an update ``params[k] = params[k] - step`` leaves the shared params['k'] unchanged).

An exception raised by the student's code (in call, getattr, getitem) becomes
StudentError, carrying the exception's type name and text.

Two implementations:

* Direct(ns): the objects are in this interpreter (the notebook's hidden-test cells call
  ``checks.check_x(globals())``). Values still travel as copies made by the same rules,
  so that a check behaves the same on both paths; share keeps its copy's arrays, and
  observe copies their current contents.
* autograder.sandbox.remote.Remote: the objects live in a sandboxed process; shared arrays
  live in memory the grader owns and maps (autograder/sandbox/arena.py), and observe reads
  the grader's own mapping.
"""
from autograder.sandbox import wire
from autograder.sandbox.wire import NotTransferable

__all__ = ["Ref", "Student", "StudentError", "NotTransferable", "Direct"]


class StudentError(Exception):
    """The student's code raised type_name: message."""

    def __init__(self, type_name, message):
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message


class Ref:
    """A handle to an object in the student's world, valid for the Student that made it.
    shared: what observe needs (None unless the Ref was made by share)."""

    __slots__ = ("owner", "handle", "shared")

    def __init__(self, owner, handle, shared=None):
        self.owner = owner
        self.handle = handle
        self.shared = shared

    def __repr__(self):
        return f"<Ref {type(self.owner).__name__}>"


class Student:
    """The interface (see the module docstring)."""

    def lookup(self, name):
        raise NotImplementedError

    def call(self, fn, *args, **kwargs):
        raise NotImplementedError

    def getattr(self, ref, name):
        raise NotImplementedError

    def getitem(self, ref, key):
        raise NotImplementedError

    def send(self, value):
        raise NotImplementedError

    def fetch(self, ref):
        raise NotImplementedError

    def share(self, value):
        raise NotImplementedError

    def observe(self, ref):
        raise NotImplementedError

    def _own(self, ref):
        if not isinstance(ref, Ref) or ref.owner is not self:
            raise TypeError(f"not a Ref of this {type(self).__name__}: {ref!r}")
        return ref.handle


def _text(value, limit=2000):
    try:
        text = str(value)
    except Exception:
        text = "<unprintable>"
    return text if len(text) <= limit else text[:limit] + "..."


class Direct(Student):
    """The student's objects in this interpreter: ns maps names to them (a notebook's
    globals()). Values are copied on the way in and out, by the rules of the wire."""

    def __init__(self, ns):
        self.ns = ns

    def _value(self, value):
        return self._own(value) if isinstance(value, Ref) else wire.copy(value)

    def _run(self, fn, *args, **kwargs):
        try:
            return Ref(self, fn(*args, **kwargs))
        except Exception as e:
            raise StudentError(type(e).__name__, _text(e)) from e

    def lookup(self, name):
        return Ref(self, self.ns[name])

    def call(self, fn, *args, **kwargs):
        fn = self._own(fn)
        args = [self._value(a) for a in args]
        kwargs = {k: self._value(v) for k, v in kwargs.items()}
        return self._run(fn, *args, **kwargs)

    def getattr(self, ref, name):
        return self._run(getattr, self._own(ref), name)

    def getitem(self, ref, key):
        obj = self._own(ref)
        return self._run(lambda: obj[self._value(key)])

    def send(self, value):
        return Ref(self, wire.copy(value))

    def fetch(self, ref):
        return wire.copy(self._own(ref))

    def share(self, value):
        kept = wire.copy(value)
        return Ref(self, kept, shared=_containers(kept))

    def observe(self, ref):
        self._own(ref)
        if ref.shared is None:
            raise TypeError("observe() needs a Ref made by share()")
        return wire.copy(ref.shared)


def _containers(value):
    """value's dicts, lists and tuples copied, its other objects (the arrays) the same:
    what share gave the student, however the student's code changes the containers."""
    if isinstance(value, dict):
        return {k: _containers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_containers(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_containers(v) for v in value)
    return value
