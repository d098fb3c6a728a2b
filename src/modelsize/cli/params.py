"""The one command-line parser: each option declared once, commands built on click when first used.

An option is an :class:`Opt`: its flags, help, metavar and how its text becomes a value. It is
declared once — in :mod:`modelsize.cli.options` when several commands take it, else beside the one
command that does — and every command that takes it names that declaration in its signature::

    def diff_command(old: Annotated[str, Arg("The model before …")], depth: options.Depth = 2, …)

A command whose option means something narrower (``--format`` of ``check`` takes ``table|json``)
derives it with :meth:`Opt.but`: help, metavar and parser change, the flags stay the declaration's,
and the derived option remembers it (:attr:`Opt.root`, which the declaration test walks).

:class:`App` records a verb's functions; :meth:`App.click` builds the click command from their
signatures the first time the verb is used, so ``modelsize --help`` builds none of them. Values are
converted here, in our one template (``The 'batch' option must be an integer. Got 'abc'.``), and
the flags every command takes (``--quiet``, ``--no-progress``, ``--verbose``, ``--width``) are
added to every command as the group hands it out (:func:`with_flags`), never declared by a command.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..core.errors import option_error
from .errors import argument_error, usage_problem

#: ``-h`` and ``--help`` on every command
CONTEXT = {"help_option_names": ["-h", "--help"]}


class Opt:
    """One option, declared once: flags (``"--depth", "-d"``; ``"--nnz/--no-nnz"`` for an on/off
    pair), help, metavar, ``parser`` (text → value, raising a usage problem), ``check`` (value →
    value, e.g. a lower bound) and ``eager`` (a flag every command takes: acts at parse time and
    is not passed to the command's function)."""

    __slots__ = ("decls", "help", "metavar", "parser", "check", "eager", "show_default", "origin")

    def __init__(self, *decls: str, help: str = "", metavar: str | None = None,  # noqa: A002 - click's word
                 parser: Callable[[str], Any] | None = None, check: Callable[[Any], Any] | None = None,
                 eager: Callable[[Any], None] | None = None, show_default: bool = True,
                 origin: Opt | None = None) -> None:
        if not decls or not all(d.startswith("-") for d in decls):
            raise ValueError(f"An option's flags start with '-': {decls!r}")
        self.decls, self.help, self.metavar = decls, help, metavar
        self.parser, self.check, self.eager, self.show_default = parser, check, eager, show_default
        self.origin = origin

    @property
    def root(self) -> Opt:
        """The declaration this option is (or was derived from with :meth:`but`)."""
        return self.origin or self

    @property
    def flags(self) -> tuple[str, ...]:
        """Every flag, an on/off pair split: ``("--nnz", "--no-nnz")``."""
        return tuple(f for d in self.decls for f in d.split("/"))

    @property
    def label(self) -> str:
        """The option's name in messages: its longest flag without dashes (``depth``)."""
        return max((d.split("/")[0] for d in self.decls), key=len).lstrip("-")

    def but(self, *, help: str | None = None, metavar: str | None = None,  # noqa: A002
            parser: Callable[[str], Any] | None = None, check: Callable[[Any], Any] | None = None) -> Opt:
        """This option with a narrower meaning in one command; the flags are the declaration's."""
        return Opt(*self.decls, help=self.help if help is None else help,
                   metavar=self.metavar if metavar is None else metavar, parser=parser or self.parser,
                   check=check or self.check, eager=self.eager, show_default=self.show_default, origin=self.root)

    def __repr__(self) -> str:
        return f"Opt({', '.join(map(repr, self.decls))})"


class Arg:
    """One positional argument of one command (arguments are never shared)."""

    __slots__ = ("help", "metavar", "parser")

    def __init__(self, help: str = "", *, metavar: str | None = None,  # noqa: A002
                 parser: Callable[[str], Any] | None = None) -> None:
        self.help, self.metavar, self.parser = help, metavar, parser


class App:
    """A verb: one command (``inspect``), or a group of subcommands (``sweep run|show|…``) when ``name``
    is given. Records functions; :meth:`click` builds the click command once."""

    def __init__(self, name: str | None = None, help: str | None = None,  # noqa: A002
                 no_args_is_help: bool = False) -> None:
        self.name, self.help, self.no_args_is_help = name, help, no_args_is_help
        self.commands: list[tuple[str, Callable[..., Any], str | None]] = []
        self._built: click.Command | None = None

    def command(self, name: str, epilog: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Record ``function`` as the command ``name`` (its docstring is the help)."""
        def record(function: Callable[..., Any]) -> Callable[..., Any]:
            self.commands.append((name, function, epilog))
            return function
        return record

    def click(self) -> click.Command:
        """The click command (a group for a named :class:`App`), built the first time it is asked for."""
        if self._built is None:
            if self.name is None:
                (name, function, epilog), = self.commands
                self._built = build(name, function, epilog)
            else:
                self._built = Group(self.name, help=self.help, no_args_is_help=self.no_args_is_help,
                                          context_settings=CONTEXT,
                                          commands=[build(*entry) for entry in self.commands])
        return self._built


class Group(click.Group):
    """A verb with subcommands (``sweep run|show|…``), listed in the order they were recorded."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


class Command(click.Command):
    """A click command with an ``Arguments`` section in its help and an extra positional said in our voice."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(getattr(p, "plain_name", p.human_readable_name), getattr(p, "help_text", "") + ("  [required]" if p.required else ""))
                for p in self.params if isinstance(p, click.Argument)]
        if rows:
            with formatter.section("Arguments"):
                formatter.write_dl(rows)
        super().format_options(ctx, formatter)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if not exc.message.startswith("Got unexpected extra argument"):
                raise
            raise click.UsageError(self.too_many(ctx, given), ctx) from None

    def too_many(self, ctx: click.Context, args: list[str]) -> str:
        """``inspect takes one TARGET; got 2: x, y. …`` — what was wrong and what to do, on one line."""
        _, positionals, _ = self.make_parser(ctx).parse_args(args=list(args))
        arguments = [p for p in self.params if isinstance(p, click.Argument)]
        names = [str(getattr(p, "plain_name", p.human_readable_name)) for p in arguments]
        values = [str(ctx.params[p.name]) for p in arguments if ctx.params.get(p.name) is not None] + positionals
        if not names:
            takes = "no arguments"
        elif len(names) == 1:
            takes = ("one " if arguments[0].required else "at most one ") + names[0]
        else:
            takes = ", ".join(names[:-1]) + " and " + names[-1]
        fix = "Quote a path that contains spaces" if names else "Options start with '-'"
        verb = ctx.command_path.split(" ", 1)[-1]  # "sweep show", not the program's name
        return (f"{verb} takes {takes}; got {len(values)}: {', '.join(values)}. "
                f"{fix} (see '{ctx.command_path} --help').")


def build(name: str, function: Callable[..., Any], epilog: str | None = None) -> Command:
    """The click command of ``function``: one parameter per annotated parameter (the common flags are added
    by :func:`with_flags` when the group hands the command out)."""
    hints = typing.get_type_hints(function, include_extras=True)
    signature = inspect.signature(function)
    params = [_param(key, hints[key], p.default) for key, p in signature.parameters.items()]
    defaults = {key: p.default for key, p in signature.parameters.items()}

    def call(**values: Any) -> Any:
        for key, value in values.items():
            if isinstance(value, tuple) and not value and defaults[key] is None:
                values[key] = None  # a repeatable option not given: its default
            elif isinstance(value, tuple) and typing.get_origin(_unwrap(_split(hints[key])[0])) is list:
                values[key] = list(value)
        return function(**values)

    return Command(name, callback=call, params=params, help=inspect.getdoc(function), epilog=epilog,
                   context_settings=CONTEXT)


def with_flags(command: click.Command, flags: tuple[click.Parameter, ...]) -> click.Command:
    """Add ``flags`` (the flags every command takes) to ``command`` and to each subcommand of a group, once;
    a command that declares one of them itself is a bug in its declaration."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_flags(sub, flags)
        return command
    if any(flag in command.params for flag in flags):
        return command  # added when the command was first asked for
    taken = {f for p in command.params for f in getattr(p, "opts", ()) + getattr(p, "secondary_opts", ())}
    for flag in flags:
        if taken.intersection(flag.opts):
            raise ValueError(f"{command.name} declares {flag.opts[0]} again: it is a flag every command takes")
        command.params.append(flag)
    return command


def params_of(function: Callable[..., Any]) -> tuple[click.Parameter, ...]:
    """The click parameters of ``function``'s annotated signature (for a carrier of shared flags)."""
    hints = typing.get_type_hints(function, include_extras=True)
    return tuple(_param(key, hints[key], p.default) for key, p in inspect.signature(function).parameters.items())


def _split(hint: Any) -> tuple[Any, Any]:
    """``Annotated[int, Opt(...)]`` → ``(int, Opt(...))``."""
    if typing.get_origin(hint) is typing.Annotated:
        base, *extras = typing.get_args(hint)
        spec = next((e for e in extras if isinstance(e, (Opt, Arg))), None)
        return base, spec
    return hint, None


def _unwrap(base: Any) -> Any:
    """``int | None`` → ``int``."""
    if typing.get_origin(base) in (typing.Union, types.UnionType):
        kept = [a for a in typing.get_args(base) if a is not type(None)]
        return kept[0] if len(kept) == 1 else str
    return base


_KINDS: dict[Any, tuple[str, str]] = {int: ("INTEGER", "an integer"), float: ("FLOAT", "a number"),
                                      str: ("TEXT", ""), Path: ("PATH", "")}


class _Text(click.ParamType):
    """A value from its text, by the option's parser or its type; a default passes as given."""

    def __init__(self, convert: Callable[[str], Any], name: str) -> None:
        self._convert, self.name = convert, name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return self._convert(value) if isinstance(value, str) else value


def _converter(kind: Any, parser: Callable[[str], Any] | None, label: str, argument: bool) -> Callable[[str], Any]:
    if parser is not None:
        return parser
    if kind in (int, float):
        allowed = _KINDS[kind][1]

        def number(text: str) -> Any:
            try:
                return kind(text)
            except ValueError:
                error = argument_error(label.upper(), allowed, text) if argument else option_error(label, allowed, text)
                raise usage_problem(error) from None
        return number
    return Path if kind is Path else str


def _param(key: str, hint: Any, default: Any, spec: Any = None) -> click.Parameter:
    base, annotated = _split(hint)
    spec = spec or annotated
    if spec is None:
        raise TypeError(f"The parameter {key!r} has no Opt or Arg annotation")
    kind = _unwrap(base)
    origin = typing.get_origin(kind)
    item = typing.get_args(kind)[0] if origin in (list, tuple) else kind
    if isinstance(spec, Arg):
        required = default is inspect.Parameter.empty
        name = spec.metavar or key.upper()
        extra = {} if required else {"default": default}  # click 8.5: an explicit default None is a value
        param: click.Parameter = click.Argument(
            [key], required=required, metavar=name if required else f"[{name}]",
            type=_Text(_converter(item, spec.parser, key, True), _KINDS.get(item, ("TEXT", ""))[0]), **extra)
        param.help_text, param.plain_name = spec.help, name  # type: ignore[attr-defined]
        return param
    options: dict[str, Any] = dict(help=spec.help, metavar=spec.metavar, show_default=spec.show_default)
    if spec.eager is not None:
        eager = spec.eager
        options.update(is_eager=True, expose_value=False, callback=lambda ctx, p, value: eager(value))
    elif spec.check is not None:
        check = spec.check
        options["callback"] = lambda ctx, p, value: check(value)
    if item is bool:
        options.update(is_flag=True, default=default)
    else:
        options.update(type=_Text(_converter(item, spec.parser, spec.label, False), _KINDS.get(item, ("TEXT", ""))[0]),
                       default=None if default is inspect.Parameter.empty else default,
                       multiple=origin is list, nargs=len(typing.get_args(kind)) if origin is tuple else 1)
    param = click.Option([*spec.decls, key], **options)
    param.spec = spec  # type: ignore[attr-defined]
    return param


def option_param(key: str, spec: Opt, **extra: Any) -> click.Option:
    """A click option for a group's own flag (``modelsize --version``), from its one declaration."""
    param = click.Option([*spec.decls, key], help=spec.help, metavar=spec.metavar, **extra)
    param.spec = spec  # type: ignore[attr-defined]
    return param
