"""Tuning constants of the engine, by stage, each with the reason for its value.

The histogram (:mod:`kmq_core.histogram`), the nearest-colour search
(:mod:`kmq_core.nearest`) and the fit (:mod:`kmq_core.fitting`) import their
numbers from here, so what was measured and why sits in one place. Option
defaults a user can change (k, the seed, the space...) are not tuning: they
live in :mod:`kmq_core.options`. The RGBA fit (:mod:`kmq_core.alpha`) and the
animation fit (:mod:`kmq_core.animation`) keep their own few constants.
"""

# --- histogram: linear passes over pixels and colours ---------------------

#: pixels handled per chunk in the linear passes (bounds temporary memory)
CHUNK_PIXELS = 1 << 22
#: smaller chunks when counting with weights: the masking maps of a chunk and
#: the packed sort keys hold ~60 bytes per pixel
WEIGHTED_CHUNK_PIXELS = 1 << 21
#: images up to this many pixels keep their masking weights (4 bytes a pixel) between the
#: histogram and the rate-aware labels instead of computing them twice
KEEP_WEIGHTS_PIXELS = 1 << 24
#: above this many pixels, count into a fixed 2**24 table instead of merging
#: sorted chunks, whose size grows with the number of distinct colours
TABLE_PIXELS = 1 << 23
#: distinct colours handled per step in passes over the histogram
COLOR_CHUNK = 1 << 20

# --- histogram cells the fit runs on ---------------------------------------

#: histogram cells: exact colours up to this many, else 2**bits levels per channel
CELL_EXACT_MAX = 4096
CELL_BITS_COARSE = 5
CELL_BITS_FINE = 6

# --- nearest-colour search -------------------------------------------------

#: exact search by one float64 matrix product up to this many point×centre
#: pairs; beyond, a k-d tree over the palette
EXACT_PRODUCT_PAIRS = 1 << 21
#: exact search by every distance (float64, in blocks) up to this many pairs: as quick as the k-d
#: tree there, without importing scipy.spatial (0.3 s, more than the search on a web image)
DIRECT_PAIRS = 1 << 26
#: point×centre pairs per block of that search (its float32 products and float64 checks: ~12 MB)
DIRECT_BLOCK = 1 << 20
#: the fitting loop's float32 matrix product up to this many pairs (else the
#: exact search)
FAST_PRODUCT_PAIRS = 1 << 22
#: point×centre pairs per block of the two-nearest search (bounds its memory)
TWO_NEAREST_BLOCK = 1 << 22
#: k-d tree queries over more points than this use every core
KDTREE_PARALLEL_MIN = 20_000

# --- seeding (k-means++ by OpenCV) -----------------------------------------

#: points given to cv2.kmeans for seeding
SEED_SAMPLE = 4096
#: Lloyd steps cv2.kmeans takes on that sample (the weighted loop refines after)
SEED_ITER = 8
#: ... and above MANY_K, where each step costs most and the loop refines anyway
SEED_ITER_MANY = 2

# --- weighted Lloyd refinement (perceptual spaces) -------------------------

#: Lloyd iterations over all cells and the relative improvement that stops them
MAX_ITER = 20
TOL = 1e-3
#: distance floor of the Weiszfeld (mean-distance) steps
L1_EPS = 0.5
#: "many clusters": above this k some steps change (see SEED_ITER_MANY, L1_ITER_MANY)
MANY_K = 64
L1_ITER = 4
#: ... and above MANY_K, where they gain most (flower k=256: mean ΔE2000 1.360 ->
#: 1.351 with 8) and cost least against the rest of the fit
L1_ITER_MANY = 8

#: "few clusters": at or below this k the perceptual fit runs N_INIT_PERCEPTUAL
#: k-means++ starts and keeps the one of least weighted squared error. With
#: one start, CQ100 images at k = 8 and 16 ended in palettes that lost an
#: object's colour (seeds changed nothing: the same start won every time);
#: 4 starts won SSIMULACRA2 on 10 of 10 quick-subset images at k = 8 against
#: scikit-learn's KMeans and mean ΔE2000 on 8 (1 start: 6 and 8), for four
#: times a fit that takes tens of milliseconds at this k
FEW_K = 32
N_INIT_PERCEPTUAL = 4
#: at most this many Lloyd steps with centres at their pixels' linear-light mean,
#: after the weighted fit (fitting._centres_at_pixel_means; they stop when the
#: assignment no longer changes): on the quick subset at k = 8, the worst palette
#: colour's ΔE2000 from its pixels' mean fell from 6.9-16.7 to under 4.1 with 3,
#: and mean ΔE2000 by 0.48; 3 left a centre between fur and sky 13.6 from its
#: pixels' mean on the textured-region test at k = 4, which 10 settle
MEAN_ROUNDS = 10
#: a centre sits at its pixels' mean in the fitting space unless that is farther than this
#: (CIEDE2000) from their mean in linear light, where it takes the latter. Against the
#: linear-light mean everywhere, on the 48 CQ100 images at k = 4, 8, 16 (144 cells, all else
#: as before): mean ΔE2000 no worse than scikit-learn's KMeans in 116 cells instead of 106,
#: mean butteraugli -3.8 / -0.6 / -1.5 %, SSIMULACRA2 -0.0 / -0.3 / -0.4, bytes +1.2 / +0.8 /
#: +0.3 %; with no limit, 16 cells had a palette colour more than ΔE2000 5 from its pixels'
#: linear-light mean (the small-k issue's limit), with 3 none
MEAN_MAX_DE = 3.0

# --- choosing among candidate palettes at small k (fitting._fit_perceptual) ----

#: up to this k the candidates are judged by what a person sees (fitting._Judge):
#: mean CIEDE2000, the most chromatic pixels counted again, colours that stand for
#: their pixels. Above it, each start's weighted squared error decides, as before
#: (the small-k issue's goals are set at k = 4...16; larger k was not measured)
SELECT_K = 16
#: starts of the tutorials' RGB k-means that join the perceptual starts, each giving
#: two candidates (as it is, and at its pixels' mean). On the 48 CQ100 images at
#: k = 4, 8, 16 (144 cells), against scikit-learn's KMeans on RGB, 0 -> 2: mean ΔE2000
#: no worse in 116 -> 120 cells, accent error within 1.1x the better of it and
#: pngquant 3 in 92 -> 94, SSIMULACRA2 no worse in 122 -> 123; about 50 ms more a fit
SELECT_RGB = 2
#: Lloyd steps of each RGB start (on the fine cells; they converge well before)
SELECT_RGB_ITER = 100
#: weight of the accent error (mean CIEDE2000 over the most chromatic pixels) next to
#: the mean CIEDE2000: choosing among the candidates of 60 of those cells with no
#: SELECT_SQ_TOL, 0.1 put the most cells within all three goals at once (0.05: as
#: many; 0.2: more within the accent goal, fewer within SSIMULACRA2 and mean ΔE2000)
SELECT_ACCENT = 0.1
#: the share of the pixels, most chromatic first, that the accent error covers (the
#: benchmark's definition: where a lost object colour shows)
SELECT_ACCENT_SHARE = 0.02
#: a candidate is out when a colour that this share of the pixels uses is farther than
#: SELECT_FIDELITY_DE (CIEDE2000) from their mean colour in linear light: a colour the
#: photo does not have (the RGB starts as they are do that on about 3 cells in 10; the
#: benchmark's limit is 5, measured on pixels, and the cells' means differ by a little)
SELECT_FIDELITY_SHARE = 0.005
SELECT_FIDELITY_DE = 4.5
#: and out when its weighted squared error (the fit's own objective, which follows
#: SSIMULACRA2: smooth areas' levels) is more than this fraction above the best
#: perceptual start's: a candidate must be no worse on both. With no limit,
#: china.jpg at k=16 fell below scikit-learn's KMeans on SSIMULACRA2 (18.1 against
#: 26.0 for the best start). On the 144 cells with linear-light means, 0.1 put more
#: cells within the ΔE2000 and accent goals (116 and 101, against 110 and 93 with 0)
#: but fewer within SSIMULACRA2 (115 against 122) and lowered mean SSIMULACRA2 by
#: 0.5-0.9 and raised butteraugli by 1-2.5 %: a trade, not a win; 0 is neither
SELECT_SQ_TOL = 0.0

# --- accent rescue (perceptual spaces) -------------------------------------

#: CIELAB distance (ΔE76) beyond which a colour counts as missing from the
#: palette: not a shade off but another colour (photos at k=16 rarely have
#: visible groups that far from every centre; a lost accent is 60-100 away)
ACCENT_DE = 40.0
#: radius of the groups of missing colours that one centre can serve
ACCENT_GROUP_DE = 20.0
#: smallest share of the pixels a badly served group needs to earn a centre
ACCENT_MIN_SHARE = 1e-4
#: and at least this many pixels
ACCENT_MIN_PIXELS = 24
#: no rescue when more than this share of the pixels is served that badly: the
#: palette is too small for the image, not one object lost (ten CQ100 photos that
#: trailed scikit-learn's KMeans at k = 4: mean ΔE2000 no worse on 8 of 10 instead
#: of 0, SSIMULACRA2 on 6 instead of 3; at k = 8 and 16 on ten others unchanged
#: or better; the accent scene and the patch test keep their objects)
ACCENT_MAX_BAD_SHARE = 0.02
#: at most this many groups get a centre of their own. 8 kept the fourth of four
#: small saturated patches on a sky gradient at k = 5 (3 merges it with its
#: neighbour), but in photos it took centres from large regions for small groups
#: of outliers: on ten CQ100 images at k = 8 SSIMULACRA2 fell below scikit-learn's
#: KMeans on 5 of 10 (3 rounds: 1 of 10), and 3 palette colours strayed from
#: their pixels' mean by more than ΔE2000 5
ACCENT_ROUNDS = 3

# --- exact-RGB fit (judged by PSNR) ----------------------------------------

#: rgb is for the highest PSNR (what the k-means posts measure): it works on
#: the exact colours, since cells blur the boundaries that MSE is sensitive to
RGB_BITS = 8
#: ... up to this many distinct colours; beyond (big photos), 7-bit cells keep it to seconds
RGB_EXACT_MAX = 300_000
RGB_BITS_MANY = 7
#: (Lloyd steps per start; they converge well before, except on big palettes)
RGB_MAX_ITER = 300
RGB_TOL = 1e-6
RGB_SEED_SAMPLE = 20000
#: at most this many Lloyd steps on the exact colours with an 8-bit palette
RGB_POLISH = 8
#: k-means++ starts in rgb, the best one kept (the perceptual spaces keep
#: one start: more cost them speed and gain under 1%, measured). With 3, three
#: of 17 benchmark pairs ended 0.001-0.003 dB below scikit-learn's KMeans;
#: with 5 none does (chelsea k=16 31.016 -> 31.019 dB, flower k=64 34.163 -> 34.191)
N_INIT_RGB = 5
#: ... and above MANY_K, where each start and step costs most and they differ
#: least (3 starts of 100 steps were 0.014-0.06 dB above scikit-learn at k=256;
#: 300 steps changed the PSNR by under 0.005 dB there and took half as long again)
N_INIT_RGB_MANY = 3
RGB_MAX_ITER_MANY = 100
