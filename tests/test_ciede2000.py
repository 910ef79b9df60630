"""kmq_core.ciede2000 against scikit-image's CIEDE2000 and Sharma's published pairs."""

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000

from kmq_core.ciede2000 import ciede2000

# Sharma, Wu and Dalal (2005), Table 1: pairs 1, 7, 13, 17, 25 and 34 with their ΔE00
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0011), 7.2195),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
]


@pytest.mark.parametrize("a, b, expected", SHARMA)
def test_published_pairs(a, b, expected):
    assert ciede2000(np.array(a), np.array(b)) == pytest.approx(expected, abs=5e-5)


def test_agrees_with_scikit_image_on_random_and_edge_colours():
    rng = np.random.default_rng(1)
    a = np.column_stack([rng.uniform(0, 100, 5000), rng.uniform(-100, 100, 5000), rng.uniform(-100, 100, 5000)])
    b = a + rng.normal(0, 8, a.shape)
    b[:200] = a[:200]              # identical
    a[200:400, 1:] = 0             # achromatic against chromatic
    b[400:600, 1:] = 0
    a[600:800, 1] = -a[600:800, 1]  # hue differences across 180°
    assert np.allclose(ciede2000(a, b), deltaE_ciede2000(a, b), atol=1e-9)
    assert np.all(ciede2000(a[:200], b[:200]) == 0)
