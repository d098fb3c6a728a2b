"""The ``modelsize`` command group: the one parser of the command line, loading verbs lazily.

Each verb lives in its own module (``inspect_cmd``, ``demo_cmd`` …) that records its function in a
:class:`~modelsize.cli.params.App`. The group lists verbs by name and imports a verb's module (and
builds its click command) only when that verb is run or its help is shown, so ``modelsize --help``
stays fast and imports no framework. :func:`run` is the single place where our errors become exit
codes; ``modelsize inspect FILE`` takes this same path (there is no second parser).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from ..core.registry import Registry
from .errors import NoSuchOption, in_our_voice
from .exit_codes import EXIT_ERROR
from .guard import guarded
from .output import Output
from .params import CONTEXT, Opt, option_param

#: verb name -> module holding its :class:`~modelsize.cli.params.App` named ``app``. Order is the help order.
#: No entry-point group: scanning installed packages would slow every ``modelsize --help``.
VERBS = Registry("command", attr="app", entries={
    "inspect": "modelsize.cli.inspect_cmd",
    "demo": "modelsize.cli.demo_cmd",
    "sweep": "modelsize.cli.sweep_cmd",
    "shrink": "modelsize.cli.shrink_cmd",
    "study": "modelsize.cli.study_cmd",
    "check": "modelsize.cli.check_cmd",
    "diff": "modelsize.cli.diff_cmd",
    "report": "modelsize.cli.report_cmd",
})


#: verb -> its one-line help, so ``modelsize --help`` lists the verbs without importing them
#: (a test checks each line against the command's own docstring). A verb missing here is loaded.
VERB_HELP: dict[str, str] = {
    "inspect": "Measure a model: parameters, bytes by dtype and role, shared tensors, serialized sizes.",
    "demo": "Run a short tour: measure the seed article's PyTorch SimpleNN and print its report.",
    "sweep": "Vary what drives model size: train, measure, store and fit growth laws.",
    "shrink": "Shrink a model with recipes; show size on disk, accuracy and latency before and after.",
    "study": "Test the seed article's claims about what drives model size: sweeps, laws, verdicts, report.",
    "check": "Check a model against size budgets; exit 3 when over budget (for CI and pre-commit).",
    "diff": "Compare two models: components and tensors added, removed, renamed or changed; size deltas.",
    "report": "Write an offline HTML page: treemap of bytes by component, dtype and role, formats, FLOPs.",
}


class LazyGroup(click.Group):
    """A command group that imports a verb's module the first time the verb is asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(VERBS)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The verb list of ``--help`` from :data:`VERB_HELP`: no verb module is imported to show it."""
        rows = []
        for name in self.list_commands(ctx):
            text = VERB_HELP.get(name)
            if text is None:
                command = self.get_command(ctx, name)
                text = command.get_short_help_str(limit=150) if command is not None else ""
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in VERBS:
            from .options import with_common_flags

            command = with_common_flags(VERBS[cmd_name].click())
            command.name = cmd_name
            self.commands[cmd_name] = command
        return self.commands.get(cmd_name)

    def make_context(self, info_name: Any, args: list[str], parent: Any = None, **extra: Any) -> Any:
        """Parse the group's own options; an unknown one is reported in our voice."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except NoSuchOption as exc:
            raise in_our_voice(exc) from None

    def invoke(self, ctx: Any) -> Any:
        """Run the verb; an unknown option of any verb (nested groups too) is reported in our voice."""
        try:
            return super().invoke(ctx)
        except NoSuchOption as exc:
            raise in_our_voice(exc) from None

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in VERBS:
            # An unknown verb: load them all so the "Did you mean ...?" suggestion can see them.
            for name in VERBS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


HELP = ("Measure, explain and shrink the size of machine-learning models.\n\n"
        "Data goes to stdout, messages to stderr. Exit codes: 0 ok, 1 error, 2 usage, "
        "3 over a size budget (check, diff --fail-on-growth). Set MODELSIZE_DEBUG=1 for tracebacks.")

VERSION = Opt("--version", help="Print the version and exit.")


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from .. import __version__

        Output().data(f"modelsize {__version__}")
        ctx.exit()


def group() -> LazyGroup:
    """The ``modelsize`` command group (its verbs are built when first asked for)."""
    version = option_param("version", VERSION, is_flag=True, expose_value=False, is_eager=True,
                           callback=_show_version)
    return LazyGroup("modelsize", help=HELP, params=[version], no_args_is_help=True, context_settings=CONTEXT)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: ``sys.argv[1:]``) and return the exit code.

    Usage errors are reported by click (exit 2). Our own errors become one line on stderr
    (plus the traceback with ``MODELSIZE_DEBUG=1``). Anything else propagates: it is a bug.
    """
    from .logging_setup import quiet_frameworks
    from .output import reset_settings

    reset_settings()
    with quiet_frameworks():
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    from .finetune_options import normalise  # a bare --training means full

    command = group()
    args = normalise(sys.argv[1:] if argv is None else argv)
    try:
        return guarded(lambda: command.main(args=args, prog_name="modelsize"))
    except SystemExit as exc:
        return _exit_status(exc.code)


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    Output().error(str(code))
    return EXIT_ERROR


def main() -> int:
    """Console-script entry point (``modelsize``, ``python -m modelsize``)."""
    return run(sys.argv[1:])
