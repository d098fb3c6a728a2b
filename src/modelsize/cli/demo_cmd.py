"""``modelsize demo``: a short tour on the seed article's models, one step per feature.

The tour is a list of :class:`DemoStep`; later features add their step to :data:`STEPS`
(e.g. "shrink it", "compare formats") without touching the command.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .params import App

from .options import SI, base_for
from .output import Output
from .demo_types import DemoSettings, DemoStep
from .shrink_classic_demo import demo_step as shrink_keras_and_forest


def measure_simple_nn(settings: DemoSettings) -> str:
    """Step 1: the seed's SimpleNN measured by modelsize, next to the article's own numbers."""
    from .. import inspect, render
    from ..examples.seed import simple_nn
    from ..render.labels import section_items

    model = simple_nn()
    report = inspect(model, target="modelsize.examples.seed:simple_nn")
    seed_count = sum(p.numel() for p in model.parameters())  # the article's way of counting
    table = render.table(report, depth=2, base=settings.base, width=settings.width, color=settings.color)
    lines = [
        table.rstrip(),
        "",
        f"The article counts sum(p.numel() for p in model.parameters()) = {seed_count:,}; "
        f"modelsize counts {report.totals.params:,} unique parameters.",
    ]
    saved = next(
        (f for f in section_items(report.sections.get("formats")) if f.get("format") == "torch.save(state_dict)"),
        None,
    )
    if saved and saved.get("bytes") is not None:
        how = "exactly" if saved.get("exact") else "as estimated"
        lines.append(
            f"The article's torch.save(model.state_dict(), 'model.pth') writes {saved['bytes']:,} bytes "
            f"({how}, computed without writing a file)."
        )
    lines.append("Try it yourself: modelsize inspect modelsize.examples.seed:simple_nn --format json")
    return "\n".join(lines)


def _measure_target(target: str, settings: DemoSettings, seed_says: Callable[[object], str]) -> str:
    """Resolve a ``module:factory`` target, measure it, and set the seed's own figure beside ours."""
    from .. import inspect, render
    from ..targets import resolve

    model = resolve(target).value
    report = inspect(model, target=target)
    table = render.table(report, depth=1, base=settings.base, width=settings.width, color=settings.color)
    return "\n".join([table.rstrip(), "", seed_says(model).format(params=report.totals.params),
                      f"Try it yourself: modelsize inspect {target}"])


def measure_keras_cnn(settings: DemoSettings) -> str:
    """The seed's Keras CNN: modelsize's count next to ``model.count_params()``."""
    return _measure_target(
        "modelsize.examples.seed_keras:seed_cnn", settings,
        lambda m: f"The article prints model.count_params() = {m.count_params():,}; "
                  "modelsize counts {params:,} parameters.",
    )


def measure_random_forest(settings: DemoSettings) -> str:
    """The seed's random forest on iris: where its bytes go, and its joblib size."""
    return _measure_target(
        "modelsize.examples.seed_sklearn:seed_random_forest", settings,
        lambda m: f"The article measures os.path.getsize of joblib.dump(model) for {len(m.estimators_)} trees; "
                  "the formats table above gives that size without writing the file "
                  "({params:,} learned numbers in the trees).",
    )


def shrink_simple_nn(settings: DemoSettings) -> str:
    """Step: the SimpleNN shrunk by each technique, before/after (see ``shrink_cmd.demo_step``)."""
    from .shrink_cmd import demo_step

    return demo_step(settings)


def study_claims(settings: DemoSettings) -> str:
    """Step: a few of the seed's claims measured and judged (see ``study_cmd.demo_step``)."""
    from .study_cmd import demo_step

    return demo_step(settings)


#: The tour, in order. Add a step here to extend ``modelsize demo``.
STEPS: list[DemoStep] = [
    DemoStep("Measure the seed article's PyTorch SimpleNN (784 → 128 → 10)", measure_simple_nn),
    DemoStep("Shrink the SimpleNN: pruning, quantization, distillation — size, accuracy, latency", shrink_simple_nn),
    DemoStep("Measure the seed article's Keras CNN", measure_keras_cnn),
    DemoStep("Measure the seed article's random forest (100 trees on iris)", measure_random_forest),
    DemoStep("Shrink the Keras CNN (TFLite float32 / int8) and the random forest", shrink_keras_and_forest),
    DemoStep("Test the seed's claims: ensembles, training-data size, precision", study_claims),
]

app = App()


def _eta(start: float, done: int, total: int) -> str:
    """`` (ETA 0:42)`` from the steps done so far (nothing before the first step ends)."""
    if done == 0:
        return ""
    left = (time.perf_counter() - start) / done * (total - done)
    return f" (ETA {int(left) // 60}:{int(left) % 60:02d})"


@app.command("demo", epilog="\b\nExample:\n  modelsize demo --si\n")
def demo_command(si: SI = False) -> None:
    """Run a short tour: measure the seed article's PyTorch SimpleNN and print its report."""
    out = Output()
    settings = DemoSettings(base=base_for(si), width=out.width(), color=out.color())
    start = time.perf_counter()
    for number, step in enumerate(STEPS, start=1):
        heading = f"Step {number}/{len(STEPS)}: {step.title}"
        out.progress(f"[{number}/{len(STEPS)}] {step.title} …{_eta(start, number - 1, len(STEPS))}")
        out.data(f"{heading}\n{'=' * len(heading)}\n")
        out.data(step.run(settings).rstrip() + "\n")

