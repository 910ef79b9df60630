"""Measure python-fu-kmq-quantize on a 12-megapixel layer at k=64 inside GIMP 3 (both
ways of reaching the core). A measurement, not a test:

    python3 tests/gimp/measure_big.py [--k 64] [--width 4000 --height 3000]
"""
import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gimp_harness import run_gimp_script  # noqa: E402

from kmq_core import gimp_install  # noqa: E402

SCRIPT = r'''
import gi, os, sys, json, time
gi.require_version('Gimp', '3.0')
from gi.repository import Gimp, Gio
IN, OUT = os.environ['KMQ_IN'], os.environ['KMQ_OUT']
cfg_path = os.path.join(Gimp.directory(), 'plug-ins', 'kmq-quantize', 'kmq-quantize.json')
installed = json.load(open(cfg_path))
times = {}
for how in ('import', 'subprocess'):
    json.dump(installed if how == 'import' else {'python': installed['python']}, open(cfg_path, 'w'))
    t = time.time()
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(IN + '/big.png'))
    t_load = time.time() - t
    proc = Gimp.get_pdb().lookup_procedure('python-fu-kmq-quantize')
    cfg = proc.create_config()
    cfg.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property('image', image)
    cfg.set_core_object_array('drawables', [image.get_layers()[0]])
    cfg.set_property('k', int(os.environ['K']))
    print('=== RUN', how, file=sys.stderr, flush=True)
    t = time.time()
    r = proc.run(cfg)
    times[how] = {'status': r.index(0).value_nick, 'seconds': time.time() - t, 'load_seconds': t_load,
                  'size': [image.get_width(), image.get_height()]}
    image.delete()
json.dump(times, open(OUT + '/times.json', 'w'))
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    a = ap.parse_args()
    img = cv2.resize(skimage.data.astronaut(), (a.width, a.height), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(0)
    img = np.clip(img.astype(np.int16) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)
    ok, png = cv2.imencode(".png", img[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    r = run_gimp_script(SCRIPT, files={"big.png": png.tobytes()}, env={"K": str(a.k)},
                        setup=lambda prof: gimp_install.install(prof / "plug-ins", python=sys.executable),
                        timeout=1800)
    print("\n".join(l for l in r.stderr.splitlines() if "kmq-quantize" in l or "=== RUN" in l))
    print(json.dumps(json.loads((r.outdir / "times.json").read_text()), indent=1))


if __name__ == "__main__":
    main()
