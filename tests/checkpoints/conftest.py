import pytest
import torch

from course_lib.data.translation import TranslationConfig, make_translation_data


@pytest.fixture(scope="package")
def data():
    """Lesson 02's (and 03's) number-translation data, as the checkpoints were trained on."""
    torch.set_num_threads(1)
    return make_translation_data(TranslationConfig())
