/* kmq_core._kernels: the per-pixel loops of kmq's default path, compiled.
 *
 * sRGB -> Oklab, sRGB -> CIELAB L*, the masking weights' last step and the
 * rate-aware label choice run on every pixel of every image kmq quantizes.
 * numpy would make several float64 temporaries per pixel (seconds and hundreds
 * of megabytes on a 12-megapixel photo) and cannot express the rate-aware
 * choice at all (each pixel depends on the labels chosen before it). numba
 * compiled them until issue 25; importing numba and loading its compiled code
 * cost a command about 0.5 s and 120 MB before the first pixel, so these four
 * are plain C now, and so are the dithering loops that only `--dither` runs
 * (error diffusion, ordered dithering, the dither map's runs, the contrast
 * maps; numba's versions stay in kmq_core/scan.py for a Python without this build).
 *
 * The arithmetic is numba's, operation for operation (float32 where numba
 * typed float32, float64 where it promoted, the same order of additions, libm's
 * cbrt and pow), so the results are the same bits: benchmarks/hashes.py and
 * tests/test_kernels.py check it. Built with -ffp-contract=off so that no
 * multiply-add is fused. Arrays come as C-contiguous buffers (numpy arrays);
 * the Python wrappers in kmq_core/kernels.py check shapes and dtypes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static int get(PyObject *obj, Py_buffer *view, int writable) {
    return PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0));
}

/* oklab_u8(rgb uint8 N*3, lin float64[256], m1 float64[9], m2 float64[9], chroma, out float32 N*3) */
static PyObject *oklab_u8(PyObject *self, PyObject *args) {
    PyObject *o_rgb, *o_lin, *o_m1, *o_m2, *o_out;
    double chroma;
    Py_buffer rgb, lin, m1, m2, out;
    if (!PyArg_ParseTuple(args, "OOOOdO", &o_rgb, &o_lin, &o_m1, &o_m2, &chroma, &o_out)) return NULL;
    if (get(o_rgb, &rgb, 0)) return NULL;
    if (get(o_lin, &lin, 0)) { PyBuffer_Release(&rgb); return NULL; }
    if (get(o_m1, &m1, 0)) { PyBuffer_Release(&rgb); PyBuffer_Release(&lin); return NULL; }
    if (get(o_m2, &m2, 0)) { PyBuffer_Release(&rgb); PyBuffer_Release(&lin); PyBuffer_Release(&m1); return NULL; }
    if (get(o_out, &out, 1)) {
        PyBuffer_Release(&rgb); PyBuffer_Release(&lin); PyBuffer_Release(&m1); PyBuffer_Release(&m2); return NULL;
    }
    const uint8_t *p = (const uint8_t *)rgb.buf;
    const double *L = (const double *)lin.buf, *a = (const double *)m1.buf, *b = (const double *)m2.buf;
    float *o = (float *)out.buf;
    Py_ssize_t n = rgb.len / 3;
    Py_BEGIN_ALLOW_THREADS
    #pragma omp parallel for schedule(static)
    for (Py_ssize_t i = 0; i < n; i++) {
        double r = L[p[3 * i]], g = L[p[3 * i + 1]], bl = L[p[3 * i + 2]];
        double l = cbrt(a[0] * r + a[1] * g + a[2] * bl);
        double m = cbrt(a[3] * r + a[4] * g + a[5] * bl);
        double s = cbrt(a[6] * r + a[7] * g + a[8] * bl);
        o[3 * i] = (float)(100.0 * (b[0] * l + b[1] * m + b[2] * s));
        o[3 * i + 1] = (float)(100.0 * chroma * (b[3] * l + b[4] * m + b[5] * s));
        o[3 * i + 2] = (float)(100.0 * chroma * (b[6] * l + b[7] * m + b[8] * s));
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&rgb); PyBuffer_Release(&lin); PyBuffer_Release(&m1); PyBuffer_Release(&m2);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

/* lightness_u8(rgb uint8 N*channels, channels, lin float64[256], out float32 N): CIELAB L* (D65) */
static PyObject *lightness_u8(PyObject *self, PyObject *args) {
    PyObject *o_rgb, *o_lin, *o_out;
    int channels;
    Py_buffer rgb, lin, out;
    if (!PyArg_ParseTuple(args, "OiOO", &o_rgb, &channels, &o_lin, &o_out)) return NULL;
    if (get(o_rgb, &rgb, 0)) return NULL;
    if (get(o_lin, &lin, 0)) { PyBuffer_Release(&rgb); return NULL; }
    if (get(o_out, &out, 1)) { PyBuffer_Release(&rgb); PyBuffer_Release(&lin); return NULL; }
    const uint8_t *p = (const uint8_t *)rgb.buf;
    const double *L = (const double *)lin.buf;
    float *o = (float *)out.buf;
    Py_ssize_t n = rgb.len / channels;
    Py_BEGIN_ALLOW_THREADS
    #pragma omp parallel for schedule(static)
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint8_t *q = p + channels * i;
        double yy = 0.2126729 * L[q[0]] + 0.7151522 * L[q[1]] + 0.0721750 * L[q[2]];
        double f = yy > 0.008856451679035631 ? cbrt(yy) : 7.787037037037037 * yy + 16.0 / 116.0;
        o[i] = (float)(116.0 * f - 16.0);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&rgb); PyBuffer_Release(&lin); PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

/* masking_from_moments(m float32 N, m2 float32 N, c float32, p float32, out float32 N):
 * (c / (c + sqrt(max(m2 - m*m, 0))))**p; the square root in float32, the rest in float64 */
static PyObject *masking_from_moments(PyObject *self, PyObject *args) {
    PyObject *o_m, *o_m2, *o_out;
    float c, pw;
    Py_buffer m, m2, out;
    if (!PyArg_ParseTuple(args, "OOffO", &o_m, &o_m2, &c, &pw, &o_out)) return NULL;
    if (get(o_m, &m, 0)) return NULL;
    if (get(o_m2, &m2, 0)) { PyBuffer_Release(&m); return NULL; }
    if (get(o_out, &out, 1)) { PyBuffer_Release(&m); PyBuffer_Release(&m2); return NULL; }
    const float *a = (const float *)m.buf, *b = (const float *)m2.buf;
    float *o = (float *)out.buf;
    Py_ssize_t n = m.len / (Py_ssize_t)sizeof(float);
    Py_BEGIN_ALLOW_THREADS
    #pragma omp parallel for schedule(static)
    for (Py_ssize_t i = 0; i < n; i++) {
        float v = b[i] - a[i] * a[i];
        double s = v > 0.0f ? (double)sqrtf(v) : 0.0;
        o[i] = (float)pow((double)c / ((double)c + s), (double)pw);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&m); PyBuffer_Release(&m2); PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

/* squared working-space distance below which a pixel counts as exactly a palette colour (float
 * round-off between the image's and the palette's conversions; one 8-bit level is ~0.1) */
#define EXACT_SQ 1e-4

/* rate_aware_band(x float32 h*w*3, labels uint8 h*w, nearest uint8 h*w, weight float32 h*w,
 *                 free bool h*w, pal float32 n*3, lam float32, cap float32, above int16 w, out uint8 h*w, h, w)
 * kmq_core.dithering's rate-aware choice; see its docstring there (kmq_core.kernels.rate_aware_band). */
static PyObject *rate_aware_band(PyObject *self, PyObject *args) {
    PyObject *ox, *olab, *onear, *ow, *ofree, *opal, *oabove, *oout;
    float lam, cap;
    Py_ssize_t h, w;
    Py_buffer bx, blab, bnear, bw, bfree, bpal, babove, bout;
    if (!PyArg_ParseTuple(args, "OOOOOOffOOnn", &ox, &olab, &onear, &ow, &ofree, &opal, &lam, &cap, &oabove,
                          &oout, &h, &w)) return NULL;
    PyObject *objs[8] = {ox, olab, onear, ow, ofree, opal, oabove, oout};
    Py_buffer *views[8] = {&bx, &blab, &bnear, &bw, &bfree, &bpal, &babove, &bout};
    for (int j = 0; j < 8; j++) {
        if (get(objs[j], views[j], j == 7)) {
            for (int q = 0; q < j; q++) PyBuffer_Release(views[q]);
            return NULL;
        }
    }
    const float *x = (const float *)bx.buf, *wt = (const float *)bw.buf, *pal = (const float *)bpal.buf;
    const uint8_t *labels = (const uint8_t *)blab.buf, *nearest = (const uint8_t *)bnear.buf;
    const uint8_t *fr = (const uint8_t *)bfree.buf;
    const int16_t *above = (const int16_t *)babove.buf;
    uint8_t *out = (uint8_t *)bout.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t yy = 0; yy < h; yy++) {
        for (Py_ssize_t xx = 0; xx < w; xx++) {
            Py_ssize_t i = yy * w + xx;
            int best = labels[i];
            if (fr[i]) {
                const float *px = x + 3 * i;
                int nb = nearest[i];
                float d0 = px[0] - pal[3 * nb], d1 = px[1] - pal[3 * nb + 1], d2 = px[2] - pal[3 * nb + 2];
                float e0 = d0 * d0 + d1 * d1 + d2 * d2;
                if ((double)e0 <= EXACT_SQ) {  /* a colour the palette has exactly stays exact */
                    out[i] = (uint8_t)best;
                    continue;
                }
                double wi = (double)wt[i];
                double tol = (double)lam / (wi > 1e-3 ? wi : 1e-3);
                if (tol > (double)cap) tol = (double)cap;
                double lim = (double)e0 + tol;
                int chosen = 0;
                if (xx > 0) {
                    int c = out[i - 1];
                    d0 = px[0] - pal[3 * c]; d1 = px[1] - pal[3 * c + 1]; d2 = px[2] - pal[3 * c + 2];
                    if ((double)(d0 * d0 + d1 * d1 + d2 * d2) <= lim) {
                        best = c;
                        chosen = 1;
                    }
                }
                if (!chosen) {
                    int c = yy > 0 ? (int)out[i - w] : (int)above[xx];
                    if (c >= 0) {
                        d0 = px[0] - pal[3 * c]; d1 = px[1] - pal[3 * c + 1]; d2 = px[2] - pal[3 * c + 2];
                        if ((double)(d0 * d0 + d1 * d1 + d2 * d2) <= lim) best = c;
                    }
                }
            }
            out[i] = (uint8_t)best;
        }
    }
    Py_END_ALLOW_THREADS
    for (int j = 0; j < 8; j++) PyBuffer_Release(views[j]);
    Py_RETURN_NONE;
}

/* ---- the dithering loops (kmq_core.dithering, kmq_core.contrast.edge_map): only --dither runs them.
 * numba compiled them from kmq_core/scan.py, which still holds them for a Python without this build;
 * the float types below are the ones numba inferred there (float32 arrays and products of two float32,
 * float64 wherever a Python float literal or a float64 value joins in). */

/* the index of the palette colour nearest to (t0, t1, t2), searched from guess over its neighbours
 * sorted by distance (order, dist: n*n); scan._nearest with t0, t1, t2 all float64 (error diffusion) */
static int nearest_ddd(double t0, double t1, double t2, int guess, const float *pal, const int32_t *order,
                       const float *dist, Py_ssize_t n) {
    double d0 = t0 - (double)pal[3 * guess], d1 = t1 - (double)pal[3 * guess + 1];
    double d2 = t2 - (double)pal[3 * guess + 2];
    double dg = sqrt(d0 * d0 + d1 * d1 + d2 * d2);
    int best = guess;
    double bd = dg;
    const int32_t *ord = order + (Py_ssize_t)guess * n;
    const float *dst = dist + (Py_ssize_t)guess * n;
    for (Py_ssize_t m = 1; m < n; m++) {
        if ((double)dst[m] >= dg + bd) break;
        int c = ord[m];
        d0 = t0 - (double)pal[3 * c]; d1 = t1 - (double)pal[3 * c + 1]; d2 = t2 - (double)pal[3 * c + 2];
        double d = sqrt(d0 * d0 + d1 * d1 + d2 * d2);
        if (d < bd) {
            bd = d;
            best = c;
        }
    }
    return best;
}

/* the same with t1, t2 float32 (ordered dithering moves only lightness): their differences and
 * squares stay float32, the sum is float64, as numba typed that version */
static int nearest_dff(double t0, float t1, float t2, int guess, const float *pal, const int32_t *order,
                       const float *dist, Py_ssize_t n) {
    double d0 = t0 - (double)pal[3 * guess];
    float d1 = t1 - pal[3 * guess + 1], d2 = t2 - pal[3 * guess + 2];
    double dg = sqrt(d0 * d0 + (double)(d1 * d1) + (double)(d2 * d2));
    int best = guess;
    double bd = dg;
    const int32_t *ord = order + (Py_ssize_t)guess * n;
    const float *dst = dist + (Py_ssize_t)guess * n;
    for (Py_ssize_t m = 1; m < n; m++) {
        if ((double)dst[m] >= dg + bd) break;
        int c = ord[m];
        d0 = t0 - (double)pal[3 * c]; d1 = t1 - pal[3 * c + 1]; d2 = t2 - pal[3 * c + 2];
        double d = sqrt(d0 * d0 + (double)(d1 * d1) + (double)(d2 * d2));
        if (d < bd) {
            bd = d;
            best = c;
        }
    }
    return best;
}

/* fetches n buffers (the last n_writable of them writable); on failure releases those fetched */
static int get_all(PyObject **objs, Py_buffer *views, int n, int n_writable) {
    for (int j = 0; j < n; j++) {
        if (get(objs[j], &views[j], j >= n - n_writable)) {
            for (int q = 0; q < j; q++) PyBuffer_Release(&views[q]);
            return -1;
        }
    }
    return 0;
}

static void release_all(Py_buffer *views, int n) {
    for (int j = 0; j < n; j++) PyBuffer_Release(&views[j]);
}

/* each buffer at least as long as the sizes the wrapper checked (a last guard against overruns) */
static int long_enough(Py_buffer *views, const Py_ssize_t *bytes, int n) {
    for (int j = 0; j < n; j++) {
        if (views[j].len < bytes[j]) {
            PyErr_SetString(PyExc_ValueError, "_kernels: an array is smaller than its stated shape");
            return 0;
        }
    }
    return 1;
}

/* diffuse_band(x float32 h*w*3, guess uint8 h*w, strength float32 h*w, visible bool h*w,
 *              pal float32 n*3, order int32 n*n, dist float32 n*n, err float32 2*(w+2)*3 (read and written),
 *              out uint8 h*w, row0, max_err, min_err, h, w, n)
 * serpentine Floyd-Steinberg on one band: kmq_core.scan.diffuse_band (its docstring says what each is). */
static PyObject *diffuse_band(PyObject *self, PyObject *args) {
    PyObject *objs[9];
    Py_ssize_t row0, h, w, n;
    double max_err, min_err;
    Py_buffer v[9];
    if (!PyArg_ParseTuple(args, "OOOOOOOOOnddnnn", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5],
                          &objs[6], &objs[7], &objs[8], &row0, &max_err, &min_err, &h, &w, &n)) return NULL;
    if (get_all(objs, v, 9, 2)) return NULL;
    Py_ssize_t hw = h * w;
    Py_ssize_t bytes[9] = {hw * 3 * 4, hw, hw * 4, hw, n * 3 * 4, n * n * 4, n * n * 4, 2 * (w + 2) * 3 * 4, hw};
    if (!long_enough(v, bytes, 9)) { release_all(v, 9); return NULL; }
    const float *x = (const float *)v[0].buf, *strength = (const float *)v[2].buf;
    const uint8_t *guess = (const uint8_t *)v[1].buf, *visible = (const uint8_t *)v[3].buf;
    const float *pal = (const float *)v[4].buf, *dist = (const float *)v[6].buf;
    const int32_t *order = (const int32_t *)v[5].buf;
    float *err = (float *)v[7].buf;
    uint8_t *out = (uint8_t *)v[8].buf;
    Py_ssize_t stride = (w + 2) * 3;  /* one row of err */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t yy = 0; yy < h; yy++) {
        int cur = (int)((row0 + yy) & 1), nxt = 1 - cur;
        float *ec = err + cur * stride, *en = err + nxt * stride;
        for (Py_ssize_t i = 0; i < stride; i++) en[i] = 0.0f;
        int forward = cur == 0;
        for (Py_ssize_t t = 0; t < w; t++) {
            Py_ssize_t xx = forward ? t : w - 1 - t;
            Py_ssize_t i = yy * w + xx;
            int g = guess[i];
            if (!visible[i]) {
                out[i] = (uint8_t)g;
                continue;
            }
            float s = strength[i];
            float f0 = ec[3 * (xx + 1)] * s, f1 = ec[3 * (xx + 1) + 1] * s, f2 = ec[3 * (xx + 1) + 2] * s;
            float ee = f0 * f0 + f1 * f1 + f2 * f2;
            double e0, e1, e2;
            if ((double)ee < min_err) {
                e0 = 0.0; e1 = 0.0; e2 = 0.0;
            } else if ((double)ee > max_err) {
                e0 = (double)f0 * 0.8; e1 = (double)f1 * 0.8; e2 = (double)f2 * 0.8;
            } else {
                e0 = f0; e1 = f1; e2 = f2;
            }
            double p0 = (double)x[3 * i] + e0, p1 = (double)x[3 * i + 1] + e1, p2 = (double)x[3 * i + 2] + e2;
            int c = nearest_ddd(p0, p1, p2, g, pal, order, dist, n);
            out[i] = (uint8_t)c;
            double q0 = p0 - (double)pal[3 * c], q1 = p1 - (double)pal[3 * c + 1], q2 = p2 - (double)pal[3 * c + 2];
            /* a pixel passes on error only as much as it takes */
            double f = q0 * q0 + q1 * q1 + q2 * q2 > max_err ? (double)s * 0.75 : (double)s;
            q0 *= f; q1 *= f; q2 *= f;
            Py_ssize_t a = forward ? xx + 2 : xx, b = forward ? xx : xx + 2;  /* ahead; behind-below */
            float *ca = ec + 3 * a, *nb = en + 3 * b, *nx = en + 3 * (xx + 1), *na = en + 3 * a;
            ca[0] = (float)((double)ca[0] + q0 * 0.4375);
            ca[1] = (float)((double)ca[1] + q1 * 0.4375);
            ca[2] = (float)((double)ca[2] + q2 * 0.4375);
            nb[0] = (float)((double)nb[0] + q0 * 0.1875);
            nb[1] = (float)((double)nb[1] + q1 * 0.1875);
            nb[2] = (float)((double)nb[2] + q2 * 0.1875);
            nx[0] = (float)((double)nx[0] + q0 * 0.3125);
            nx[1] = (float)((double)nx[1] + q1 * 0.3125);
            nx[2] = (float)((double)nx[2] + q2 * 0.3125);
            na[0] = (float)((double)na[0] + q0 * 0.0625);
            na[1] = (float)((double)na[1] + q1 * 0.0625);
            na[2] = (float)((double)na[2] + q2 * 0.0625);
        }
    }
    Py_END_ALLOW_THREADS
    release_all(v, 9);
    Py_RETURN_NONE;
}

/* ordered_band(x float32 h*w*3, guess uint8 h*w, strength float32 h*w, visible bool h*w, pal float32 n*3,
 *              order int32 n*n, dist float32 n*n, spacing float32 n, matrix float32 mh*mw, out uint8 h*w,
 *              row0, h, w, n, mh, mw)
 * ordered dithering along lightness on one band: kmq_core.scan.ordered_band. */
static PyObject *ordered_band(PyObject *self, PyObject *args) {
    PyObject *objs[10];
    Py_ssize_t row0, h, w, n, mh, mw;
    Py_buffer v[10];
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOnnnnnn", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5],
                          &objs[6], &objs[7], &objs[8], &objs[9], &row0, &h, &w, &n, &mh, &mw)) return NULL;
    if (mh < 1 || mw < 1) {
        PyErr_SetString(PyExc_ValueError, "ordered_band: an empty threshold matrix");
        return NULL;
    }
    if (get_all(objs, v, 10, 1)) return NULL;
    Py_ssize_t hw = h * w;
    Py_ssize_t bytes[10] = {hw * 3 * 4, hw, hw * 4, hw, n * 3 * 4, n * n * 4, n * n * 4, n * 4, mh * mw * 4, hw};
    if (!long_enough(v, bytes, 10)) { release_all(v, 10); return NULL; }
    const float *x = (const float *)v[0].buf, *strength = (const float *)v[2].buf;
    const uint8_t *guess = (const uint8_t *)v[1].buf, *visible = (const uint8_t *)v[3].buf;
    const float *pal = (const float *)v[4].buf, *dist = (const float *)v[6].buf;
    const int32_t *order = (const int32_t *)v[5].buf;
    const float *spacing = (const float *)v[7].buf, *matrix = (const float *)v[8].buf;
    uint8_t *out = (uint8_t *)v[9].buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t yy = 0; yy < h; yy++) {
        const float *mrow = matrix + ((row0 + yy) % mh) * mw;
        for (Py_ssize_t xx = 0; xx < w; xx++) {
            Py_ssize_t i = yy * w + xx;
            int g = guess[i];
            float s = strength[i];
            if (!visible[i] || s <= 0.0f) {
                out[i] = (uint8_t)g;
                continue;
            }
            double off = ((double)mrow[xx % mw] - 0.5) * (double)spacing[g] * (double)s;
            out[i] = (uint8_t)nearest_dff((double)x[3 * i] + off, x[3 * i + 1], x[3 * i + 2], g, pal, order,
                                          dist, n);
        }
    }
    Py_END_ALLOW_THREADS
    release_all(v, 10);
    Py_RETURN_NONE;
}

/* flat_runs(labels uint8 h*w, edges float32 h*w, above int16 w, below int16 w, out float32 h*w, h, w)
 * the edge map scaled by how uniform the labels are around each pixel: kmq_core.scan.flat_runs. */
static PyObject *flat_runs(PyObject *self, PyObject *args) {
    PyObject *objs[5];
    Py_ssize_t h, w;
    Py_buffer v[5];
    if (!PyArg_ParseTuple(args, "OOOOOnn", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &h, &w)) return NULL;
    if (get_all(objs, v, 5, 1)) return NULL;
    Py_ssize_t bytes[5] = {h * w, h * w * 4, w * 2, w * 2, h * w * 4};
    if (!long_enough(v, bytes, 5)) { release_all(v, 5); return NULL; }
    const uint8_t *labels = (const uint8_t *)v[0].buf;
    const float *edges = (const float *)v[1].buf;
    const int16_t *above = (const int16_t *)v[2].buf, *below = (const int16_t *)v[3].buf;
    float *out = (float *)v[4].buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < h; y++) {
        const uint8_t *row = labels + y * w;
        Py_ssize_t start = 0;
        while (start < w) {
            int lab = row[start];
            Py_ssize_t end = start + 1;
            while (end < w && row[end] == lab) end++;
            double count = 2.5 + (double)(end - start);
            for (Py_ssize_t i = start; i < end; i++) {
                int up = y > 0 ? (int)labels[(y - 1) * w + i] : (int)above[i];
                int dn = y + 1 < h ? (int)labels[(y + 1) * w + i] : (int)below[i];
                if (up == lab) count += 1.0;
                if (dn == lab) count += 1.0;
            }
            double f = 1.0 - 2.5 / count;
            for (Py_ssize_t i = start; i < end; i++) out[y * w + i] = (float)((double)edges[y * w + i] * f);
            start = end;
        }
    }
    Py_END_ALLOW_THREADS
    release_all(v, 5);
    Py_RETURN_NONE;
}

/* a second difference of 8-bit values is 0..510, so the noise and edge maps' bytes are functions of the
 * largest horizontal and vertical ones (hz, vt): tabulated once, on the first call, with numba's
 * arithmetic (kmq_core.scan.contrast_u8), and looked up per pixel (numba's LLVM vectorised the float
 * work; GCC's -O2 does not vectorise, and a lookup is faster than either). */
#define NDIFF 511
static uint8_t *NOISE_BYTE;  /* [hz * NDIFF + vt] */
static uint8_t EDGE_BYTE[NDIFF];  /* [max(hz, vt)] */

static int fill_contrast_tables(void) {
    if (NOISE_BYTE) return 0;
    uint8_t *t = (uint8_t *)PyMem_RawMalloc(NDIFF * NDIFF);
    if (!t) { PyErr_NoMemory(); return -1; }
    for (int hz = 0; hz < NDIFF; hz++) {
        for (int vt = 0; vt < NDIFF; vt++) {
            double fh = hz / 255.0, fv = vt / 255.0;
            double e = fh >= fv ? fh : fv;  /* max(fh, fv) */
            double z = e - 0.5 * fabs(fh - fv);
            double lo = fh <= fv ? fh : fv;
            z = 1.0 - (z >= lo ? z : lo);
            if (z < 0.0) z = 0.0;
            z = z * z;
            z = z * z;
            t[hz * NDIFF + vt] = (uint8_t)(z * 255.0 + 0.5);
        }
        double e = hz / 255.0;
        e = 1.0 - (e < 1.0 ? e : 1.0);
        EDGE_BYTE[hz] = (uint8_t)(e * 255.0 + 0.5);
    }
    NOISE_BYTE = t;
    return 0;
}

/* contrast_u8(p uint8 (h+2)*(w+2)*3, noise uint8 h*w, edges uint8 h*w, h, w)
 * second differences: libimagequant-style noise and edge maps, kmq_core.scan.contrast_u8. */
static PyObject *contrast_u8(PyObject *self, PyObject *args) {
    PyObject *objs[3];
    Py_ssize_t h, w;
    Py_buffer v[3];
    if (!PyArg_ParseTuple(args, "OOOnn", &objs[0], &objs[1], &objs[2], &h, &w)) return NULL;
    if (fill_contrast_tables()) return NULL;
    if (get_all(objs, v, 3, 2)) return NULL;
    Py_ssize_t bytes[3] = {(h + 2) * (w + 2) * 3, h * w, h * w};
    if (!long_enough(v, bytes, 3)) { release_all(v, 3); return NULL; }
    const uint8_t *p = (const uint8_t *)v[0].buf;
    uint8_t *noise = (uint8_t *)v[1].buf, *edges = (uint8_t *)v[2].buf;
    Py_ssize_t rs = (w + 2) * 3;  /* one row of p */
    Py_BEGIN_ALLOW_THREADS
    #pragma omp parallel for schedule(static)
    for (Py_ssize_t y = 0; y < h; y++) {
        const uint8_t *r0 = p + y * rs, *r1 = r0 + rs, *r2 = r1 + rs;
        uint8_t *no = noise + y * w, *ed = edges + y * w;
        for (Py_ssize_t x = 0; x < w; x++) {
            int hz = 0, vt = 0;
            for (int c = 0; c < 3; c++) {
                int cc = 2 * (int)r1[3 * (x + 1) + c];
                int a = abs((int)r1[3 * x + c] + (int)r1[3 * (x + 2) + c] - cc);
                int b = abs((int)r0[3 * (x + 1) + c] + (int)r2[3 * (x + 1) + c] - cc);
                if (a > hz) hz = a;
                if (b > vt) vt = b;
            }
            no[x] = NOISE_BYTE[hz * NDIFF + vt];
            ed[x] = EDGE_BYTE[hz > vt ? hz : vt];  /* e = max(fh, fv) = max(hz, vt) / 255.0 */
        }
    }
    Py_END_ALLOW_THREADS
    release_all(v, 3);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"oklab_u8", oklab_u8, METH_VARARGS, "sRGB uint8 -> Oklab x100 (a, b times chroma), float32."},
    {"lightness_u8", lightness_u8, METH_VARARGS, "sRGB uint8 -> CIELAB L*, float32."},
    {"masking_from_moments", masking_from_moments, METH_VARARGS, "(c / (c + sigma))**p, float32."},
    {"rate_aware_band", rate_aware_band, METH_VARARGS, "The rate-aware label choice on one band."},
    {"diffuse_band", diffuse_band, METH_VARARGS, "Serpentine Floyd-Steinberg on one band."},
    {"ordered_band", ordered_band, METH_VARARGS, "Ordered dithering along lightness on one band."},
    {"flat_runs", flat_runs, METH_VARARGS, "The edge map scaled by the labels' runs."},
    {"contrast_u8", contrast_u8, METH_VARARGS, "Noise and edge maps from second differences, uint8."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
