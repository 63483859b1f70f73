"""Typer's parameter coercion without pydantic, for the plain types sochi's parameters use.

Typer (0.29) coerces every parameter of the command being run through a pydantic
TypeAdapter: importing pydantic and building the adapters is 60–100 ms of every process,
a third of a whole `sochi verify`. A string, a path, a choice, a number or a list of them
needs none of it. Such a parameter gets a coercion made of Typer's own helpers (the same
path checks); whatever that does not turn into a value — a refused path or choice, a
number out of bounds, a flag's value from an environment variable — goes to the adapter
Typer would have built, so every result and every error message stays Typer's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click import Context
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
from typer.core import _TyperParameter
from typer.models import ParameterInfo

_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class _Unconverted(Exception):
    """This value is Typer's (pydantic's) to coerce."""


Convert = Callable[[Any, _TyperParameter, Context], Any]


def _text(value: Any, param: _TyperParameter, ctx: Context) -> Any:
    if isinstance(value, str):
        return value
    raise _Unconverted


def _number(kind: type[int] | type[float], info: ParameterInfo) -> Convert:
    """Decimal digits within the bounds; out of bounds (Typer words it) or else: Typer's."""
    pattern = _INTEGER if kind is int else _DECIMAL

    def convert(value: Any, param: _TyperParameter, ctx: Context) -> Any:
        if isinstance(value, str) and pattern.fullmatch(value):
            number = kind(value)
        elif type(value) is kind:
            number = value
        else:
            raise _Unconverted
        if (info.min is not None and number < info.min) or (
            info.max is not None and number > info.max
        ):
            raise _Unconverted
        return number

    return convert


def _flag(value: Any, param: _TyperParameter, ctx: Context) -> Any:
    if isinstance(value, bool):
        return value
    raise _Unconverted  # "yes", "0", … from an environment variable: pydantic's rules


def _path(info: ParameterInfo, path_type: type[Path]) -> Convert:
    def convert(value: Any, param: _TyperParameter, ctx: Context) -> Any:
        if isinstance(value, str):
            value = path_type(value)  # what pydantic's Path validator makes of a string
        if not isinstance(value, Path):
            raise _Unconverted
        try:
            return coerce_cli_path(value, info, path_type=path_type, param=param, ctx=ctx)
        except Exception:  # the refusal is Typer's to word
            raise _Unconverted from None

    return convert


def _choice(choices: list[Any], case_sensitive: bool) -> Convert:
    def convert(value: Any, param: _TyperParameter, ctx: Context) -> Any:
        try:
            return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive, ctx=ctx)
        except ValueError:
            raise _Unconverted from None

    return convert


def _leaf(annotation: Any, info: ParameterInfo) -> Convert | None:
    if info.parser is not None:
        return None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(list(annotation), info.case_sensitive)
    if annotation is bool:
        return _flag
    if annotation in (int, float):
        return None if info.clamp else _number(annotation, info)
    if annotation is str:
        return _text
    if routes_to_path(annotation, info):
        path_type = info.path_type or annotation
        if isinstance(path_type, type) and issubclass(path_type, Path):
            return _path(info, path_type)
    return None


def _converter(descriptor: TypeDescriptor) -> Convert | None:
    annotation: Any = descriptor.annotation
    info = descriptor.parameter_info
    if descriptor.is_file:
        return None
    if get_origin(annotation) is list:
        item = _leaf(get_args(annotation)[0], info)
        if item is None:
            return None

        def each(value: Any, param: _TyperParameter, ctx: Context) -> Any:
            values = value if isinstance(value, (list, tuple)) else [value]
            return [item(v, param, ctx) for v in values]

        return each
    if get_origin(annotation) is not None:
        return None
    return _leaf(annotation, info)


@dataclass(frozen=True)
class _PlainRuntimeParam(RuntimeParam):
    """Converts without pydantic; hands what it cannot convert to Typer's adapter."""

    descriptor: TypeDescriptor = field(repr=False, kw_only=True)
    convert: Convert = field(repr=False, kw_only=True)
    _typer: list[RuntimeParam] = field(default_factory=list, repr=False, kw_only=True)

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        try:
            return self.convert(value, param, ctx)
        except _Unconverted:
            pass
        if not self._typer:
            self._typer.append(build_runtime_param(self.descriptor))
        return self._typer[0]._coerce_value(value, param=param, ctx=ctx)


_typer_get_runtime_param = _TyperParameter.get_runtime_param


def _get_runtime_param(self: _TyperParameter) -> RuntimeParam:
    if self._runtime_param is None:
        descriptor = self.type_descriptor
        convert = _converter(descriptor)
        if convert is not None:
            self._runtime_param = _PlainRuntimeParam(
                parameter_info=descriptor.parameter_info,
                annotation=descriptor.annotation,
                descriptor=descriptor,
                convert=convert,
            )
    return _typer_get_runtime_param(self)


def install() -> None:
    """Every Typer parameter (options, arguments, the help flags Typer adds when a command
    runs) takes this coercion for its plain types; idempotent."""
    _TyperParameter.get_runtime_param = _get_runtime_param  # type: ignore[method-assign]


__all__ = ["install"]
