"""A light replacement for dataclasses on the start-up path.

Why not dataclasses: importing it imports inspect, ast and dis (about 10 ms),
and every decorated class costs more at import. Boot and hooks run at every
session start, where that is a third of the time budget. A subclass lists
its fields in ``FIELDS`` (name -> default; ``REQUIRED`` for none; ``list`` or
``dict`` for a fresh empty one) and gets __init__, __eq__, __repr__, to_dict.
"""

from __future__ import annotations

REQUIRED = object()


class Record:
    FIELDS: dict = {}

    def __init__(self, *args, **kwargs) -> None:
        fields = self.FIELDS
        if args:
            names = list(fields)
            if len(args) > len(names):
                raise TypeError(f"{type(self).__name__} takes at most {len(names)} positional arguments")
            for key, value in zip(names, args):
                if key in kwargs:
                    raise TypeError(f"{type(self).__name__} got {key!r} twice")
                kwargs[key] = value
        unknown = kwargs.keys() - fields.keys()
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        values = self.__dict__
        for name, default in fields.items():
            if name in kwargs:
                values[name] = kwargs[name]
            elif default is REQUIRED:
                raise TypeError(f"{type(self).__name__} needs {name!r}")
            elif default is list or default is dict:
                values[name] = default()
            else:
                values[name] = default

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}

    def copy(self):
        """A shallow copy: a cache can hand it out without its own copy being changed."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[union-attr]

    __hash__ = None  # mutable, like a dataclass without frozen=True

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"{type(self).__name__}({inner})"
