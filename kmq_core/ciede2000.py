"""CIEDE2000 colour difference in numpy, for the fit's own choices.

scikit-image has ``deltaE_ciede2000``, and the reported figures use it
(:mod:`kmq_core.metrics`); but importing ``skimage.color`` costs about 0.65 s
(it pulls in SciPy), which every ``kmq quantize`` at small k would pay to
compare a few candidate palettes on a few thousand histogram cells. The
formula (Sharma, Wu and Dalal 2005) is short; it is written here and tested
against scikit-image's to 1e-6.
"""

from __future__ import annotations

import numpy as np


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 between CIELAB colours (…×3 arrays, D65, L 0..100; kL = kC = kH = 1)."""
    lab1 = np.asarray(lab1, np.float64)
    lab2 = np.asarray(lab2, np.float64)
    L1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    L2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_bar = 0.5 * (np.hypot(a1, b1) + np.hypot(a2, b2))
    c7 = c_bar**7
    g = 0.5 * (1.0 - np.sqrt(c7 / (c7 + 25.0**7)))
    a1, a2 = a1 * (1.0 + g), a2 * (1.0 + g)
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1 = np.arctan2(b1, a1) % (2 * np.pi)
    h2 = np.arctan2(b2, a2) % (2 * np.pi)
    dl = L2 - L1
    dc = c2 - c1
    dh = h2 - h1
    dh = np.where(dh > np.pi, dh - 2 * np.pi, np.where(dh < -np.pi, dh + 2 * np.pi, dh))
    dh = np.where(c1 * c2 == 0, 0.0, dh)
    dH = 2.0 * np.sqrt(c1 * c2) * np.sin(dh / 2.0)
    l_bar = 0.5 * (L1 + L2)
    c_bar = 0.5 * (c1 + c2)
    h_sum = h1 + h2
    h_bar = np.where(np.abs(h1 - h2) > np.pi, np.where(h_sum < 2 * np.pi, h_sum + 2 * np.pi, h_sum - 2 * np.pi),
                     h_sum) / 2.0
    h_bar = np.where(c1 * c2 == 0, h_sum, h_bar)
    t = (1 - 0.17 * np.cos(h_bar - np.pi / 6) + 0.24 * np.cos(2 * h_bar) + 0.32 * np.cos(3 * h_bar + np.pi / 30)
         - 0.20 * np.cos(4 * h_bar - 63 * np.pi / 180))
    l50 = (l_bar - 50.0) ** 2
    sl = 1 + 0.015 * l50 / np.sqrt(20 + l50)
    sc = 1 + 0.045 * c_bar
    sh = 1 + 0.015 * c_bar * t
    d_theta = np.deg2rad(30.0) * np.exp(-(((np.rad2deg(h_bar) - 275.0) / 25.0) ** 2))
    c_bar7 = c_bar**7
    rt = -2.0 * np.sqrt(c_bar7 / (c_bar7 + 25.0**7)) * np.sin(2 * d_theta)
    x, y, z = dl / sl, dc / sc, dH / sh
    return np.sqrt(np.maximum(x * x + y * y + z * z + rt * y * z, 0.0))
