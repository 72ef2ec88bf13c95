"""One JSON converter for every typed config and result: dataclasses <-> JSON values.

Configs and results of studies are dataclasses; a run stores them as JSON (``config.json``,
``result.json``) and reads them back as the same classes. One pair of functions does it for
every class, driven by the type annotations, so no class writes its own ``to_dict``/``from_dict``::

    @dataclass
    class Point:
        step: int
        acc: float

    @dataclass
    class Result:
        support: tuple[int, ...]
        history: list[Point]
        note: str | None = None

    data = to_json(Result((1, 4), [Point(0, 0.5)]))     # {"support": [1, 4], "history": [...]}
    assert from_json(Result, data) == Result((1, 4), [Point(0, 0.5)])

Supported annotations: dataclasses, ``int``/``float``/``str``/``bool``/``None``, ``Path``,
``list[T]``, ``tuple[T, ...]``, ``tuple[A, B]``, ``dict[str, T]``, ``T | None``, ``Any``
(passed through). Unknown keys in the data are an error that names them (a misspelt field is
caught, not ignored); missing keys fall back to the field's default. Numpy scalars and arrays
become plain numbers and lists. This module imports no torch and no numpy.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union

T = TypeVar("T")


def to_json(obj: Any) -> Any:
    """``obj`` (a dataclass, or lists/dicts/tuples of them, or plain values) as JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else str(obj)   # JSON has no NaN; "inf" / "-inf" survive
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "tolist"):                          # numpy / torch scalars and arrays
        return to_json(obj.tolist())
    raise TypeError(f"cannot write a {type(obj).__name__} as JSON; give it a dataclass or a "
                    "plain type")


def from_json(cls: type[T], data: Any, where: str = "") -> T:
    """``data`` (as ``to_json`` wrote it) read back as ``cls``; ValueError naming the bad key."""
    return _read(cls, data, where or getattr(cls, "__name__", str(cls)))


def _read(tp: Any, data: Any, where: str) -> Any:
    if tp is Any or tp is object:
        return data
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return _read_union(typing.get_args(tp), data, where)
    if dataclasses.is_dataclass(tp):
        return _read_dataclass(tp, data, where)
    if origin in (list, tuple, dict) or tp in (list, tuple, dict):
        return _read_container(tp, origin or tp, data, where)
    if tp is Path:
        return Path(_expect(data, str, where))
    if tp is float:
        if isinstance(data, str) and data in ("inf", "-inf"):
            return float(data)
        return float("nan") if data is None else float(_expect(data, (int, float), where))
    if tp in (int, str, bool):
        if tp is int and isinstance(data, bool):
            raise ValueError(f"{where}: expected an int, got {data!r}")
        return _expect(data, tp, where)
    if tp is type(None):
        if data is not None:
            raise ValueError(f"{where}: expected null, got {data!r}")
        return None
    return data                                        # a type we do not check (Literal, ...)


def _read_union(args: tuple, data: Any, where: str) -> Any:
    if data is None and type(None) in args:
        return None
    errors = []
    for a in args:
        if a is type(None):
            continue
        try:
            return _read(a, data, where)
        except (ValueError, TypeError) as e:
            errors.append(str(e))
    raise ValueError(errors[0] if len(errors) == 1 else f"{where}: {data!r} fits none of "
                     f"{', '.join(getattr(a, '__name__', str(a)) for a in args)}")


def _read_dataclass(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object for {cls.__name__}, got "
                         f"{type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))} for "
                         f"{cls.__name__}; known: {', '.join(fields)}")
    kw = {name: _read(hints[name], data[name], f"{where}.{name}")
          for name in fields if name in data}
    missing = [n for n, f in fields.items() if n not in kw and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(map(repr, missing))} for "
                         f"{cls.__name__}")
    return cls(**kw)


def _read_container(tp: Any, origin: type, data: Any, where: str) -> Any:
    args = typing.get_args(tp)
    if origin is dict:
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
        vt = args[1] if len(args) == 2 else Any
        return {k: _read(vt, v, f"{where}[{k!r}]") for k, v in data.items()}
    if not isinstance(data, (list, tuple)):
        raise ValueError(f"{where}: expected a list, got {type(data).__name__}")
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(data):
            raise ValueError(f"{where}: expected {len(args)} items, got {len(data)}")
        return tuple(_read(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data)))
    et = args[0] if args else Any
    items = [_read(et, v, f"{where}[{i}]") for i, v in enumerate(data)]
    return tuple(items) if origin is tuple else items


def _expect(data: Any, tp: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, tp):
        name = tp.__name__ if isinstance(tp, type) else "number"
        raise ValueError(f"{where}: expected {name}, got {data!r}")
    return data


def from_text(tp: Any, value: Any, flag: str) -> Any:
    """A command-line value as type ``tp``: numbers, true/false, ``none`` for an optional field,
    comma lists for tuples and lists, then checked by ``from_json``; ``flag`` names it in errors."""
    if not isinstance(value, str):
        return from_json(tp, value, flag)
    text, origin = value.strip(), typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if text.lower() in ("none", "null", "") and len(args) < len(typing.get_args(tp)):
            return None
        errors = []
        for a in args:
            try:
                return from_text(a, text, flag)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError(errors[0])
    if origin in (tuple, list):
        (elem, *_) = typing.get_args(tp) or (Any,)
        items = [from_text(elem, v, flag) for v in text.split(",") if v.strip()]
        return from_json(tp, items, flag)
    if tp in (int, float):
        try:
            return tp(text)
        except ValueError:
            raise ValueError(f"{flag} {value!r}: give a{'n integer' if tp is int else ' number'}"
                             ) from None
    if tp is bool:
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"{flag} {value!r}: give true or false")
        return text.lower() in ("true", "1", "yes")
    if tp is str or tp is Any:
        return text
    return from_json(tp, text, flag)
