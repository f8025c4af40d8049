"""Optimizers from public textbooks, course notes and papers, each behind a thin adapter
with the course's interface (constructor names, update(params, grads) in place), their
arithmetic unchanged: what a student brings from what she reads. One module per source,
its header naming the repository, path and commit it follows; each module's EXPECTED says,
per optimizer, what the course's grading gives it:

    EXPECTED = {class name: (points of its cell, catalogue id named or None, visible test)}

visible test: None when the visible test passes, else a text its message holds.

    SOURCES            the modules, by name
    adapters()         [(source, class name, the class's source text, expected)]
"""
import importlib
import inspect

SOURCES = ("dlfs", "d2l", "cs231n_notes", "adabelief_pytorch")


def adapters():
    """Every adapter of every source: (source, class name, source text of the class, expected)."""
    found = []
    for source in SOURCES:
        module = importlib.import_module(f"{__name__}.{source}")
        for name, expected in module.EXPECTED.items():
            found.append((source, name, inspect.getsource(getattr(module, name)), expected))
    return found
