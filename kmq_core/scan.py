"""The dithering loops compiled by numba, for a Python that has no build of the C extension.

Error diffusion, ordered dithering, the dither map's run lengths and the
contrast maps each visit the pixels in order, every step using what the
previous ones decided. numpy cannot vectorise that and a Python loop takes
minutes on a photo. Pillow's C Floyd–Steinberg has no strength map, no
serpentine scan and no error limit, and no library offers the run lengths,
hence these loops. numba compiled them until issue 25; they are now C
(``kmq_core/_kernels.c``, called through :mod:`kmq_core.kernels`), written from
this code operation for operation and held to it bit for bit
(tests/test_kernels.py), so a ``--dither`` run with the C build never imports
numba. :mod:`kmq_core.kernels` imports this module only when the C extension
is missing (GIMP's own Python importing this checkout, say), the way it falls
back to :mod:`kmq_core.kernels_numba` for the default path's loops.

Every function works on one band of rows at a time and carries its state
(the diffused error, the last row of labels) in arrays the caller keeps, so
a 100-megapixel image never needs more than a band of float colours.

Nearest colours are found from a guess (the undithered label, which is
usually right or close) with the triangle inequality over each colour's
neighbours sorted by distance (:func:`kmq_core.kernels.neighbour_table`):
once the next neighbour of the guess is farther than ``d(target, guess) +
best``, no farther colour can win.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _nearest(t0, t1, t2, guess, pal, order, dist):
    """Index of the palette colour nearest to (t0, t1, t2), searched from ``guess``."""
    d0 = t0 - pal[guess, 0]
    d1 = t1 - pal[guess, 1]
    d2 = t2 - pal[guess, 2]
    dg = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
    best = guess
    bd = dg
    n = pal.shape[0]
    for m in range(1, n):
        if dist[guess, m] >= dg + bd:
            break
        c = order[guess, m]
        d0 = t0 - pal[c, 0]
        d1 = t1 - pal[c, 1]
        d2 = t2 - pal[c, 2]
        d = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        if d < bd:
            bd = d
            best = c
    return best


@njit(cache=True, nogil=True)
def diffuse_band(x, guess, strength, visible, pal, order, dist, err, row0, max_err, min_err, out):
    """Floyd–Steinberg on one band: the numba version of :func:`kmq_core.kernels.diffuse_band`
    (same arguments, same results to the bit), used when the C build is missing."""
    h, w = guess.shape
    for yy in range(h):
        cur = (row0 + yy) & 1
        nxt = 1 - cur
        for i in range(w + 2):
            err[nxt, i, 0] = 0.0
            err[nxt, i, 1] = 0.0
            err[nxt, i, 2] = 0.0
        forward = ((row0 + yy) & 1) == 0
        for t in range(w):
            xx = t if forward else w - 1 - t
            g = guess[yy, xx]
            if not visible[yy, xx]:
                out[yy, xx] = g
                continue
            s = strength[yy, xx]
            e0 = err[cur, xx + 1, 0] * s
            e1 = err[cur, xx + 1, 1] * s
            e2 = err[cur, xx + 1, 2] * s
            ee = e0 * e0 + e1 * e1 + e2 * e2
            if ee < min_err:
                e0 = 0.0
                e1 = 0.0
                e2 = 0.0
            elif ee > max_err:
                e0 *= 0.8
                e1 *= 0.8
                e2 *= 0.8
            p0 = x[yy, xx, 0] + e0
            p1 = x[yy, xx, 1] + e1
            p2 = x[yy, xx, 2] + e2
            c = _nearest(p0, p1, p2, g, pal, order, dist)
            out[yy, xx] = c
            q0 = p0 - pal[c, 0]
            q1 = p1 - pal[c, 1]
            q2 = p2 - pal[c, 2]
            # a pixel passes on error only as much as it takes: edges and
            # noise (strength ~0) must not spill their error into smooth areas
            f = s * 0.75 if q0 * q0 + q1 * q1 + q2 * q2 > max_err else s
            q0 *= f
            q1 *= f
            q2 *= f
            if forward:
                a, b = xx + 2, xx  # ahead in this row; behind-below
            else:
                a, b = xx, xx + 2
            err[cur, a, 0] += q0 * 0.4375
            err[cur, a, 1] += q1 * 0.4375
            err[cur, a, 2] += q2 * 0.4375
            err[nxt, b, 0] += q0 * 0.1875
            err[nxt, b, 1] += q1 * 0.1875
            err[nxt, b, 2] += q2 * 0.1875
            err[nxt, xx + 1, 0] += q0 * 0.3125
            err[nxt, xx + 1, 1] += q1 * 0.3125
            err[nxt, xx + 1, 2] += q2 * 0.3125
            err[nxt, a, 0] += q0 * 0.0625
            err[nxt, a, 1] += q1 * 0.0625
            err[nxt, a, 2] += q2 * 0.0625
    return out


@njit(cache=True, nogil=True)
def ordered_band(x, guess, strength, visible, pal, order, dist, spacing, matrix, row0, out):
    """Ordered (threshold-matrix) dithering on one band, along lightness.

    Each pixel's lightness moves by ``(M[y, x] − ½) · spacing · strength``,
    ``spacing`` being the distance from its undithered colour to the nearest
    other palette colour (the local step of the palette), then takes the
    nearest colour. The pattern depends on the pixel's position only, so a
    still area dithers the same in every frame and repeats every few rows,
    which deflate stores cheaply.
    """
    h, w = guess.shape
    mh, mw = matrix.shape
    for yy in range(h):
        my = (row0 + yy) % mh
        for xx in range(w):
            g = guess[yy, xx]
            s = strength[yy, xx]
            if not visible[yy, xx] or s <= 0.0:
                out[yy, xx] = g
                continue
            off = (matrix[my, xx % mw] - 0.5) * spacing[g] * s
            out[yy, xx] = _nearest(x[yy, xx, 0] + off, x[yy, xx, 1], x[yy, xx, 2], g, pal, order, dist)
    return out


@njit(cache=True, nogil=True)
def flat_runs(labels, edges, above, below, out):
    """Scale the edge map by how uniform the undithered labels are around each pixel.

    Along each row, a run of equal labels whose pixels above and below share
    the label is a flat area that would show a false contour: dithering stays
    on. Short runs (busy areas) get ``1 − 2.5 / (2.5 + run + neighbours)`` of
    it, as libimagequant's dither map does. ``above``/``below``: the rows just
    outside the band (−1 where there is none).
    """
    h, w = labels.shape
    for y in range(h):
        start = 0
        while start < w:
            lab = labels[y, start]
            end = start + 1
            while end < w and labels[y, end] == lab:
                end += 1
            count = 2.5 + (end - start)
            for i in range(start, end):
                up = labels[y - 1, i] if y > 0 else above[i]
                dn = labels[y + 1, i] if y + 1 < h else below[i]
                if up == lab:
                    count += 1.0
                if dn == lab:
                    count += 1.0
            f = 1.0 - 2.5 / count
            for i in range(start, end):
                out[y, i] = edges[y, i] * f
            start = end
    return out


@njit(cache=True, parallel=True, nogil=True)
def contrast_u8(p, noise, edges):
    """Second differences of a (h+2)×(w+2)×3 uint8 band with a 1-pixel border:
    libimagequant-style noise (1 = flat) and edge (1 = no edge) maps, uint8."""
    h, w = noise.shape
    for y in prange(h):
        for x in range(w):
            hz = 0
            vt = 0
            for c in range(3):
                cc = 2 * np.int32(p[y + 1, x + 1, c])
                a = abs(np.int32(p[y + 1, x, c]) + np.int32(p[y + 1, x + 2, c]) - cc)
                b = abs(np.int32(p[y, x + 1, c]) + np.int32(p[y + 2, x + 1, c]) - cc)
                if a > hz:
                    hz = a
                if b > vt:
                    vt = b
            fh = hz / 255.0
            fv = vt / 255.0
            e = max(fh, fv)
            z = e - 0.5 * abs(fh - fv)
            z = 1.0 - max(z, min(fh, fv))
            if z < 0.0:
                z = 0.0
            z = z * z
            z = z * z
            noise[y, x] = np.uint8(z * 255.0 + 0.5)
            e = 1.0 - min(e, 1.0)
            edges[y, x] = np.uint8(e * 255.0 + 0.5)
