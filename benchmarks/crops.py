"""1:1 crops at small k, side by side: the original, kmq's default, the seeds' k-means
(scikit-learn KMeans on RGB) and pngquant 3, for the eye rather than a metric.

    python -m benchmarks.crops                   # docs/small-k-crops.png
    python -m benchmarks.crops --before REV      # also kmq at commit REV (a git worktree in /tmp)

Each row is one image and k; each crop is 192×192 pixels at 1:1 (shown 2× in the
figure, nearest neighbour, so the flat areas and their edges are as they are). The
images are CQ100's (../shared/data/cq100; credits in its metadata.csv, and in the figure).
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.rd import CQ100_DIR, REPO, _read_rgb, _sklearn, produce

#: (image, y, x): a 192-pixel square with what the small-k issue names: fur, flowers, a sky
CROPS = (("siberian_tiger", 330, 150), ("common_lantanas", 150, 300), ("maya_beach", 40, 420))
KS = (8, 16)
SIZE = 192


def _kmq_at(rev: str | None, src: Path, k: int, out: Path) -> None:
    root = REPO
    if rev is not None:
        root = Path(tempfile.gettempdir()) / f"kmq-crops-{rev}"
        if not root.exists():
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(root), rev], check=True,
                           capture_output=True)
    subprocess.run([sys.executable, "-m", "kmq_core.cli", "quantize", str(src), "-k", str(k), "-o", str(out), "-f",
                    "-q"], check=True, cwd=root, capture_output=True)


def credits(names) -> str:
    with open(CQ100_DIR / "metadata.csv", newline="") as f:
        rows = {r["Modified Filename"]: r for r in csv.DictReader(f)}
    return "; ".join(f"{n}: {rows[n]['Author']} ({rows[n]['License']})" for n in names)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default=None, help="also show kmq at this commit")
    ap.add_argument("-o", "--output", default=str(REPO / "docs" / "small-k-crops.png"))
    args = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = ["original", "kmq (default)"] + ([f"kmq at {args.before}"] if args.before else []) + \
        ["seeds' k-means (scikit-learn, RGB)", "pngquant 3.0.3"]
    rows = [(name, y, x, k) for name, y, x in CROPS for k in KS]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.2 * len(cols), 2.35 * len(rows)), dpi=100)
    with tempfile.TemporaryDirectory(prefix="kmq-crops-") as d:
        tmp = Path(d)
        for r, (name, y, x, k) in enumerate(rows):
            src = CQ100_DIR / f"{name}.png"
            made = [_read_rgb(src)]
            out = tmp / "kmq.png"
            _kmq_at(None, src, k, out)
            made.append(_read_rgb(out))
            if args.before:
                _kmq_at(args.before, src, k, out)
                made.append(_read_rgb(out))
            _sklearn(src, k, out)
            made.append(_read_rgb(out))
            produce("pq3", src, k, out)
            made.append(_read_rgb(out))
            for c, img in enumerate(made):
                ax = axes[r, c]
                ax.imshow(np.asarray(img)[y:y + SIZE, x:x + SIZE], interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(cols[c], fontsize=8)
                if c == 0:
                    ax.set_ylabel(f"{name}\nk = {k}", fontsize=8)
    fig.text(0.01, 0.003, "Photos (CQ100): " + credits([c[0] for c in CROPS]), fontsize=6)
    fig.tight_layout(rect=(0, 0.015, 1, 1))
    fig.savefig(args.output)
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
