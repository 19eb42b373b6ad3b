"""axe-core, the accessibility engine that the browser test (tests/test_browser.py) runs on every page.

    the npm registry's tarball of axe-core AXE_VERSION -> .venv/axe-core-AXE_VERSION.min.js (checked against its
    published sha512), fetched by `make` when it sets up .venv (`python -m tools axe`)

The release is pinned here, like the Python packages in requirements.txt; Node.js is not needed, only the
registry. To move to a newer release: `npm view axe-core version dist.integrity`, and change the two lines below.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.request

from tools.book import ROOT

AXE_VERSION = "4.14.1"
AXE_INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
AXE_URL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
AXE_SCRIPT = ROOT / ".venv" / f"axe-core-{AXE_VERSION}.min.js"


def fetch_axe() -> None:
    """Download the pinned axe-core from the npm registry, check its integrity, keep its axe.min.js."""
    if AXE_SCRIPT.exists():
        return
    with urllib.request.urlopen(AXE_URL, timeout=120) as response:
        tarball = response.read()
    algorithm, digest = AXE_INTEGRITY.split("-", 1)
    if base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode() != digest:
        raise SystemExit(f"{AXE_URL} does not match its published integrity {AXE_INTEGRITY}")
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        script = archive.extractfile("package/axe.min.js").read()
    AXE_SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    AXE_SCRIPT.write_bytes(script)
    print(f"axe-core {AXE_VERSION} -> {AXE_SCRIPT.relative_to(ROOT)}")
