/* kmq_core._kernels: the per-pixel loops of kmq's default path, compiled.
 *
 * sRGB -> Oklab, sRGB -> CIELAB L*, the masking weights' last step and the
 * rate-aware label choice run on every pixel of every image kmq quantizes.
 * numpy would make several float64 temporaries per pixel (seconds and hundreds
 * of megabytes on a 12-megapixel photo) and cannot express the rate-aware
 * choice at all (each pixel depends on the labels chosen before it). numba
 * compiled them until issue 25; importing numba and loading its compiled code
 * cost a command about 0.5 s and 120 MB before the first pixel, so these four
 * are plain C now (the dithering loops, which only `--dither` runs, stay in
 * numba: kmq_core.scan).
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

static PyMethodDef methods[] = {
    {"oklab_u8", oklab_u8, METH_VARARGS, "sRGB uint8 -> Oklab x100 (a, b times chroma), float32."},
    {"lightness_u8", lightness_u8, METH_VARARGS, "sRGB uint8 -> CIELAB L*, float32."},
    {"masking_from_moments", masking_from_moments, METH_VARARGS, "(c / (c + sigma))**p, float32."},
    {"rate_aware_band", rate_aware_band, METH_VARARGS, "The rate-aware label choice on one band."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
