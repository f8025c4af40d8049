"""The one interface through which the hidden checks talk to the student's code.

A check never holds a student object itself: it holds Refs, handles to objects that live
in the student's world, and asks a Student to act on them:

    lookup(name) -> Ref             a name the notebook defined (KeyError if it did not)
    call(fn, *args, **kwargs) -> Ref  fn(*args, **kwargs) in the student's world; fn is a Ref;
                                    each argument is a Ref or a local value (sent as a copy)
    getattr(ref, name) -> Ref
    getitem(ref, key) -> Ref
    send(value) -> Ref              a copy of a local value placed in the student's world
    fetch(ref) -> value             a local copy of a student value
    same(a, b) -> bool              `a is b` in the student's world

Values that travel (send, fetch, arguments): numpy arrays of numeric or bool dtype, numpy
scalars, None, bool, int, float, complex, str, numpy scalar types such as np.float32, and
lists / tuples / dicts of those (wire.py). Anything else raises wire.NotTransferable.

An exception raised by the student's code (in call, getattr, getitem) becomes
StudentError, carrying the exception's type name and text.

Two implementations:

* Direct(ns): the objects are in this interpreter (the notebook's hidden-test cells call
  ``checks.check_x(globals())``). Values still travel as copies made by the same rules,
  so that a check behaves the same on both paths.
* autograder.sandbox.proxy.Remote: the objects live in a sandboxed process.
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
    """A handle to an object in the student's world, valid for the Student that made it."""

    __slots__ = ("owner", "handle")

    def __init__(self, owner, handle):
        self.owner = owner
        self.handle = handle

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

    def same(self, a, b):
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

    def same(self, a, b):
        return self._own(a) is self._own(b)
