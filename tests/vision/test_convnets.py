"""Tests of course_lib.vision.convnets: the CNN, the ST-CNN, parameter matching, feature grids."""

import pytest
import torch

from course_lib.train.utils import count_parameters
from course_lib.vision.convnets import (
    ConvNet,
    ConvNetConfig,
    FeatureGrid,
    FeatureGridConfig,
    STClassifier,
    error_rate,
    grid_to_tokens,
    matched_convnet,
    mistakes,
    predict,
    upsample_map,
)
from course_lib.vision.spatial import LocalizerConfig


def test_convnet_fits_any_input_size_with_the_same_parameters():
    model = ConvNet()
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert model(torch.rand(2, 1, 40, 40)).shape == (2, 10)
    with pytest.raises(ValueError, match="x"):
        model(torch.rand(2, 28, 28))
    with pytest.raises(ValueError, match="channels"):
        ConvNetConfig(channels=(4,))


def test_st_classifier_and_a_matched_cnn():
    torch.manual_seed(0)
    st = STClassifier(LocalizerConfig(in_size=40, out_size=28))
    x = torch.rand(3, 1, 40, 40)
    assert st(x).shape == (3, 10) and st.transform(x).shape == (3, 1, 28, 28)
    target = count_parameters(st)
    cnn = ConvNet(matched_convnet(target))
    assert abs(count_parameters(cnn) - target) / target < 0.05
    assert cnn.config.channels[1] == 2 * cnn.config.channels[0]


def test_predict_and_error_rate():
    torch.manual_seed(0)
    model = ConvNet()
    images = torch.rand(7, 28, 28)
    preds = predict(model, images, batch_size=3)
    assert preds.shape == (7,) and preds.dtype == torch.long
    assert error_rate(model, images, preds) == 0.0
    wrong = preds.clone()
    wrong[[1, 4]] = (preds[[1, 4]] + 1) % 10
    assert mistakes(model, images, wrong).tolist() == [i in (1, 4) for i in range(7)]
    assert error_rate(model, images, wrong) == pytest.approx(2 / 7)


def test_feature_grid_and_tokens():
    grid = FeatureGrid(FeatureGridConfig(image_size=48, channels=(4, 8, 8), d_model=16))
    features = grid(torch.rand(2, 1, 48, 48))
    assert features.shape == (2, 16, 6, 6) and grid.pos.shape == (16, 6, 6)
    tokens = grid_to_tokens(features)
    assert tokens.shape == (2, 36, 16)
    torch.testing.assert_close(tokens[:, 7], features[:, :, 1, 1])  # row-major cells
    with pytest.raises(ValueError, match="image_size"):
        grid(torch.rand(2, 1, 64, 64))
    with pytest.raises(ValueError, match="multiple of 8"):
        FeatureGridConfig(image_size=30)
    up = upsample_map(torch.rand(2, 3, 6, 6), 48)
    assert up.shape == (2, 3, 48, 48)
