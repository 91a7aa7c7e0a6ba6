"""Config dataclass fields that are also command-line options, declared once.

A field made with `option(default, help)` becomes `--field-name` (or its `flag`) of the
commands built from that dataclass; its type, default, help, choices come from the field.
Fields made otherwise stay config-only. Plain standard library: importable without torch.
"""

from __future__ import annotations

import argparse
import typing
from collections.abc import Mapping
from dataclasses import MISSING, Field, field, fields
from typing import Any


def option(default: Any, help: str, *, flag: str = "", choices: tuple[str, ...] = ()) -> Any:
    """A dataclass field with a default that is also a command-line option."""
    metadata = {"help": help, "flag": flag, "choices": choices}
    return field(default=default, metadata=metadata)


def option_fields(cls: type) -> list[Field]:
    return [f for f in fields(cls) if "help" in f.metadata]


def int_tuple(text: str) -> tuple[int, ...]:
    """`1,2,2` -> (1, 2, 2)"""
    return tuple(int(v) for v in text.split(","))


def _value_type(hint: Any) -> Any:
    """`tuple[int, ...]` -> int_tuple; bool, int, float, str as they are."""
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[:1] == (int,):
        return int_tuple
    if hint in (bool, int, float, str):
        return hint
    raise TypeError(f"no command-line form for a field of type {hint!r}")


def _metavar(flag: str, kind: Any, choices: tuple[str, ...] | None) -> str | None:
    if choices:
        return None  # argparse shows {a,b}
    return "N,N,..." if kind is int_tuple else flag[2:].upper().replace("-", "_")


def _shown(default: Any) -> str:
    if default is None or default is False or default in ("", ()):
        return ""
    text = ",".join(map(str, default)) if isinstance(default, tuple) else str(default)
    return f" (default: {text})"


def add_options(
    parser: argparse.ArgumentParser, cls: type, defaults: Mapping[str, Any] | None = None
) -> None:
    """One option per `option()` field of `cls`; `defaults` replaces some fields' defaults
    on the command line (e.g. None: "not given", left to the command to resolve)."""
    hints = typing.get_type_hints(cls)
    defaults = defaults or {}
    for f in option_fields(cls):
        if f.default is MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: an option needs a default")
        default = defaults.get(f.name, f.default)
        flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
        kind = _value_type(hints[f.name])
        choices = f.metadata["choices"] or None
        help_ = (f.metadata["help"] + _shown(default)).replace("%", "%%")
        if kind is bool:  # a flag
            action = argparse.BooleanOptionalAction if default else "store_true"
            parser.add_argument(flag, dest=f.name, action=action, default=default, help=help_)
            continue
        parser.add_argument(
            flag,
            dest=f.name,
            type=kind,
            default=default,
            choices=choices,
            metavar=_metavar(flag, kind, choices),
            help=help_,
        )


def given_options(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The parsed values of `cls`'s options that are not None, by field name."""
    values = {f.name: getattr(args, f.name) for f in option_fields(cls)}
    return {k: v for k, v in values.items() if v is not None}
