"""Glimpse pictures and the glimpse explorer widget."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.core.retina import RetinaConfig, retina
from course_lib.viz.glimpse_plots import show_glimpse, show_trajectory
from course_lib.viz.widgets import glimpse_explorer


def example(n=3, steps=4):
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(n, 60, 60, generator=gen)
    locations = torch.rand(n, steps, 2, generator=gen) * 2 - 1
    probs = torch.softmax(torch.randn(n, steps, 10, generator=gen), -1)
    return images, locations, probs, torch.tensor([3, 1, 4])


def test_trajectory_and_glimpse_plots():
    images, locations, _, _ = example()
    fig, axes = plt.subplots(1, 4)
    show_trajectory(axes[0], images[0], locations[0], upto=2, scales_at=1, title="path")
    assert len(axes[0].patches) == 2 + 2  # finest squares of 2 glimpses + 2 coarser scales
    assert axes[0].get_title() == "path"
    show_glimpse(axes[1:], retina(images[:1], locations[0, :1])[0], RetinaConfig())
    assert "24x24" in axes[2].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="locations"):
        show_trajectory(axes[0], images[0], locations)


def test_glimpse_explorer_has_class_sliders_and_updates():
    images, locations, probs, labels = example()
    box = glimpse_explorer(images, locations, probs, labels)
    assert "glimpse-explorer" in box._dom_classes
    (example_slider, step_slider), caption, _ = box.children[0].children, *box.children[1:]
    assert (example_slider.max, step_slider.min, step_slider.max) == (2, 1, 4)
    assert "image 0" in caption.value and "glimpse 1 of 4" in caption.value
    example_slider.value, step_slider.value = 2, 3
    assert "image 2" in caption.value and "label 4" in caption.value
    assert "glimpse 3 of 4" in caption.value
    plt.close("all")
    with pytest.raises(ValueError, match="step_probs"):
        glimpse_explorer(images, locations, probs[:, :, 0], labels)
