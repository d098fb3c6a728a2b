"""``modelsize report TARGET -o model.html``: one self-contained HTML page showing where the bytes go."""

from __future__ import annotations

from typing import Annotated

from .params import App, Arg

from . import compute_options, finetune_options, output_file, remote_options
from .options import OUTPUT, SI, NoCompress, NoFormats, base_for
from .output import Output

EXAMPLES = """\
\b
Examples:
  modelsize report model.safetensors -o model.html
  modelsize report path/to/hf_folder/ -o llama.html
  modelsize report modelsize.examples.seed:simple_nn --input 1x784 -o simple_nn.html   # with FLOPs
  modelsize report path/to/config.json --fit 80GiB --training lora -o plan.html   # the fine-tuning plan
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
    fit: remote_options.Fit = None,
    batch: remote_options.Batch = None,
    training: finetune_options.Training = None,
    rank: finetune_options.Rank = None,
    target_modules: finetune_options.TargetModules = None,
    optimizer: finetune_options.Optimizer = None,
    precision: finetune_options.Precision = None,
    grad_checkpointing: finetune_options.GradCheckpointing = False,
    gpus: finetune_options.Gpus = None,
    shard: finetune_options.Shard = None,
) -> None:
    """Write an offline HTML page: treemap of bytes by component, dtype and role, formats, FLOPs.

    With --fit, the page has the memory table that inspect prints (with --training, the fine-tuning plan)."""
    from ..render.html_report import report_html
    from ..targets import resolve
    from .inspect_run import InspectRequest, measure_request, measured

    out = Output()
    output_file.prepare_file(output, output_file.HTML_KINDS)  # `-o out.pdf`: exit 2 before any work
    flags = finetune_options.FinetuneFlags(training, rank, target_modules, optimizer, precision, grad_checkpointing,
                                           gpus, shard)
    fitting, planned = finetune_options.fit_and_plan(fit, seq_len, batch, flags)  # bad options: exit 2 before loading
    planned = finetune_options.with_inputs(planned, inputs)
    out.progress(f"Measuring {target} …")
    resolved = resolve(target)
    traced_seq_len = None if fitting is not None else seq_len  # with --fit: the context of the fit
    remote = remote_options.remote_request(resolved.remote, False, False, None, False, training=planned is not None)
    extra = compute_options.request(target, resolved.is_file, inputs, traced_seq_len, backward, latency, measure,
                                    no_elementwise, remote=remote is not None)
    request = InspectRequest(target, resolved, dict(formats=not no_formats, compression=not no_compress,
                                                    target=target, **extra),
                             remote=remote, fitting=None if planned else fitting, finetune=planned)
    report = measured(target, lambda: measure_request(request))
    text = report_html(report, base_for(si))
    output_file.write_text(output, text)
    out.hint(f"Wrote {output} ({len(text.encode()):,} bytes)")
