"""``modelsize report TARGET -o model.html``: one self-contained HTML page showing where the bytes go."""

from __future__ import annotations

from typing import Annotated

from .params import App, Arg

from . import compute_options, output_file
from .options import OUTPUT, SI, NoCompress, NoFormats, base_for
from .output import Output

EXAMPLES = """\
\b
Examples:
  modelsize report model.safetensors -o model.html
  modelsize report path/to/hf_folder/ -o llama.html
  modelsize report modelsize.examples.seed:simple_nn --input 1x784 -o simple_nn.html   # with FLOPs
"""

app = App()


@app.command("report", epilog=EXAMPLES)
def report_command(
    target: Annotated[str, Arg("A model file or folder, 'package.module:attr' or 'path/to/file.py:attr'.")],
    output: Annotated[str, OUTPUT.but(metavar="FILE.html", help="Where to write the page (one file, works "
                                                                 "offline; .html or .htm).")] = "model.html",
    no_formats: NoFormats = False,
    no_compress: NoCompress = False,
    si: SI = False,
    inputs: compute_options.Inputs = None,
    seq_len: compute_options.SeqLen = None,
    backward: compute_options.Backward = False,
    latency: compute_options.Latency = False,
    measure: compute_options.Measure = False,
    no_elementwise: compute_options.NoElementwise = False,
) -> None:
    """Write an offline HTML page: treemap of bytes by component, dtype and role, formats, FLOPs."""
    from ..api import inspect
    from ..render.html_report import report_html
    from ..targets import resolve
    from .inspect_run import measured

    out = Output()
    output_file.prepare_file(output, output_file.HTML_KINDS)  # `-o out.pdf`: exit 2 before any work
    out.progress(f"Measuring {target} …")
    resolved = resolve(target)
    extra = compute_options.request(target, resolved.is_file, inputs, seq_len, backward, latency, measure,
                                    no_elementwise)
    report = measured(target, lambda: inspect(resolved.value, formats=not no_formats, compression=not no_compress,
                                              target=target, **extra))
    text = report_html(report, base_for(si))
    output_file.write_text(output, text)
    out.hint(f"Wrote {output} ({len(text.encode()):,} bytes)")
