"""``modelsize diff OLD NEW``: which components were added, removed, renamed or changed, and by how much.

Exit 0 whatever the difference, unless ``--fail-on-growth PCT`` and the size grew by more
(exit 3), so a CI job can post the Markdown as a comment and still fail on growth.
"""

from __future__ import annotations

from typing import Annotated, Any

from click.exceptions import Exit

from .params import App, Arg, Opt

from ..core.errors import ModelSizeError, option_error
from .errors import EXIT_BUDGET, usage_problem
from .options import FORMAT, OUTPUT, SI, Depth, NoCompress, NoFormats, base_for
from .output import Output

EXAMPLES = """\
\b
Examples:
  modelsize diff old/model.safetensors new/model.safetensors
  modelsize diff model.pt model.safetensors                # two formats of one model
  modelsize diff my_pkg.models:fp32 quantized.pt --format markdown > comment.md
  modelsize diff old_folder/ new_folder/ --format json -o diff.json
  modelsize diff old.pt new.pt -o diff.html                # treemap coloured by growth
  modelsize diff old.pt new.pt --fail-on-growth 2%         # exit 3 when the size grew more
"""

DIFF_FORMATS = ("table", "json", "markdown")
_BY_SUFFIX = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
              ".txt": "table"}

app = App()


def parse_diff_format(value: Any) -> str:
    text = str(value).strip().lower()
    if text == "md":
        text = "markdown"
    if text not in DIFF_FORMATS:
        raise usage_problem(option_error("format", "one of 'table', 'json', 'markdown'", value))
    return text


def _percent(value: Any) -> float | None:
    from ..core.units import parse_percent

    if value is None:
        return None
    try:
        return parse_percent(value, "fail-on-growth")
    except ModelSizeError as exc:
        raise usage_problem(exc) from exc  # type: ignore[arg-type]


@app.command("diff", epilog=EXAMPLES)
def diff_command(
    old: Annotated[str, Arg("The model before: a file, folder, 'module:attr' or 'file.py:attr'.")],
    new: Annotated[str, Arg("The model after (any kind of target).")],
    fmt: Annotated[str, FORMAT.but(parser=parse_diff_format, metavar="[table|json|markdown]",
                                   help="table for people, json for programs (schema in schema/diff.schema.json), "
                                        "markdown for a pull-request comment.")] = "table",
    output: Annotated[str | None, OUTPUT.but(
        help="Also write to FILE (stdout keeps --format), in the format its extension names: .json, .md, .txt "
             "(the table) or .html (the treemap page coloured by growth).")] = None,
    fail_on_growth: Annotated[str | None, Opt(
        "--fail-on-growth", metavar="PCT", help="Exit 3 when the size grew by more than PCT (e.g. 2%). The size is "
        "the file on disk when both are files, else the tensors' bytes.")] = None,
    depth: Depth = 2,
    show_all: Annotated[bool, Opt("--all", help="List unchanged components too.")] = False,
    no_formats: NoFormats = False,
    no_compress: NoCompress = False,
    si: SI = False,
) -> None:
    """Compare two models: components and tensors added, removed, renamed or changed; size deltas."""
    from ..diff import compare

    from . import output_file

    limit = _percent(fail_on_growth)
    out = Output()
    kind = output_file.prepare_file(output, _BY_SUFFIX)  # exit 2 / 1 before any model is loaded
    reports = [_measure(target, not no_formats, not no_compress, out) for target in (old, new)]
    result = compare(*reports)
    out.data(_render(result, reports, fmt, base_for(si), depth, show_all, out.width()))
    if output is not None and kind is not None:
        output_file.write_text(output, _render(result, reports, kind, base_for(si), depth, show_all))
        out.hint(f"Wrote {output}.")
    growth = result.size.growth
    if limit is not None and growth is not None and growth > limit:
        out.hint(f"The size grew {100 * growth:.2f}% ({result.size_what}), more than the allowed {100 * limit:.2f}%.")
        raise Exit(EXIT_BUDGET)


def _measure(target: str, formats: bool, compression: bool, out: Output) -> Any:
    from ..api import inspect
    from ..targets import resolve
    from .inspect_run import measured

    out.progress(f"Measuring {target} …")
    resolved = resolve(target)
    return measured(target, lambda: inspect(resolved.value, formats=formats, compression=compression, target=target))


def _render(result: Any, reports: list[Any], kind: str, base: Any, depth: int, show_all: bool,
            width: int | None = None) -> str:
    """The diff in ``kind``; a table fits ``width`` columns (the terminal's), a file's is one row per line."""
    if kind == "json":
        import json

        return json.dumps(result.to_dict(), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    if kind == "markdown":
        from ..render.markdown import diff_markdown

        return diff_markdown(result, base, depth, show_all)
    if kind == "html":
        from ..render.html_diff import diff_html

        return diff_html(result, reports[0], reports[1], base)
    from ..render.diff_table import diff_table

    return diff_table(result, base, depth, show_all, width)
