"""Checkpoint files: weights beside their record, a helpful error when one is missing."""

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from course_lib import checkpoints


@dataclass(frozen=True)
class Data:
    size: int = 3


def test_write_then_read_gives_the_weights_and_the_record(tmp_path):
    model = nn.Linear(3, 2)
    path = tmp_path / "deeper" / "m.pt"  # folders are created
    checkpoints.write(path, model, {"seconds": 1.5, "data_config": {"size": 3}})
    saved = checkpoints.read(path, "course_lib.anything")
    assert torch.equal(saved["state_dict"]["weight"], model.weight)
    assert checkpoints.record(saved) == {"seconds": 1.5, "data_config": {"size": 3}}
    checkpoints.check_data_config(saved, Data(3))
    with pytest.raises(ValueError, match="data: the checkpoint was trained on"):
        checkpoints.check_data_config(saved, Data(4))


def test_a_missing_file_names_the_command_that_makes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"python -m course_lib.vision_weights vit"):
        checkpoints.read(tmp_path / "none.pt", "course_lib.vision_weights vit")
