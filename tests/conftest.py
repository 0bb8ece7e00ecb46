import pytest


@pytest.fixture
def one_thread():
    """Torch on one thread during a test: tests of many tiny tensor ops run much faster so,
    above all on a busy machine. Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
