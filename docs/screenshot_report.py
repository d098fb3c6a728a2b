"""Regenerate ``docs/report.png``, the README's picture of ``modelsize report``.

Builds a small GPT-2-like model (random weights), writes its report page, opens it in headless
Chromium (the Debian package, through /usr/bin/chromedriver) and saves a palette PNG.
Usage: ``python docs/screenshot_report.py``.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests" / "render"))


def main() -> None:
    import torch
    import transformers
    from PIL import Image

    import browser
    import modelsize
    from modelsize.render.html_report import report_html

    torch.manual_seed(0)
    config = transformers.GPT2Config(n_embd=128, n_layer=4, n_head=4, n_positions=256, vocab_size=4000,
                                     bos_token_id=0, eos_token_id=0)
    report = modelsize.inspect(transformers.GPT2LMHeadModel(config), target="tiny GPT-2 (4 layers)",
                               compression=False)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(report_html(report), encoding="utf-8")
        driver = browser.start(width=1280, height=1000)
        try:
            browser.load(driver, page)
            png = driver.get_screenshot_as_png()
        finally:
            driver.quit()
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128)
    out = HERE / "report.png"
    image.save(out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
