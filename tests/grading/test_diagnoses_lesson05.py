"""Lesson 05's exercises name the common mistakes of the instructor notes, in the notebook and
in the grader alike."""

import pytest

from tests.grading.diagnoses import Mistake, check_diagnosis

REINFORCE = """
def reinforce_loss(log_probs, rewards, baselines=None):
    advantage = rewards[:, None] - (0.0 if baselines is None else baselines)
    advantage = advantage{detach}
    return {loss}


def baseline_loss(baselines, rewards):
    return ((baselines - rewards[:, None].detach()) ** 2){reduce}
"""


def reinforce(detach=".detach()", loss="-(advantage * log_probs).sum(dim=1).mean()",
              reduce=".mean()"):  # fmt: skip
    return REINFORCE.format(detach=detach, loss=loss, reduce=reduce)


PATCH = """
def extract_patch(images, corners, side):
    {body}
    return torch.stack(out)


def glimpse(images, centres, patch, scales):
    out = []
    for k in range(scales):
        side = patch * 2**k
        crop = extract_patch(images, {corner}, side)
        out.append(F.avg_pool2d(crop[:, None], 2**k)[:, 0])
    return torch.stack(out, dim=1)
"""
PADDED = """padded = F.pad(images, (side, side, side, side))
    height, width = images.shape[1:]
    out = []
    for image, ({first}, {second}) in zip(padded, corners.tolist()):
        x = min(max(x + side, 0), width + side)
        y = min(max(y + side, 0), height + side)
        out.append(image[y:y + side, x:x + side])"""
SHIFTED = """height, width = images.shape[1:]
    out = []
    for image, (x, y) in zip(images, corners.tolist()):
        x, y = min(max(x, 0), width - side), min(max(y, 0), height - side)
        out.append(image[y:y + side, x:x + side])"""
CUT = """out = []
    for image, (x, y) in zip(images, corners.tolist()):
        crop = image[max(y, 0):max(y + side, 0), max(x, 0):max(x + side, 0)]
        out.append(F.pad(crop, (0, side - crop.shape[1], 0, side - crop.shape[0])))"""
BY_XY = PADDED.format(first="x", second="y")


def patch(body=BY_XY, corner="centres - side // 2"):
    return PATCH.format(body=body, corner=corner)


GAUSSIAN = """
def gaussian_log_prob(x, mean, std):
    std = torch.as_tensor(std, dtype=mean.dtype)
    per_dim = -(x - mean) ** 2 / (2 * {variance}) - torch.log(std) - 0.5 * math.log(2 * math.pi)
    return per_dim{total}


def sample_location(mean, std, noise):
    location = (mean + std * noise){detach}
    return location, gaussian_log_prob(location, mean, std)
"""


def gaussian(variance="std**2", total=".sum(-1)", detach=".detach()"):
    return GAUSSIAN.format(variance=variance, total=total, detach=detach)


MISTAKES = [
    Mistake("05_reinforce_loss", "reinforce_answer", reinforce(detach=""), "reinforce_baseline",
            "an advantage R - b that is not detached"),
    Mistake("05_reinforce_loss", "reinforce_answer",
            reinforce(loss="(advantage * log_probs).sum(dim=1).mean()"), "reinforce_plain",
            "the loss to maximise instead of minimise"),
    Mistake("05_reinforce_loss", "reinforce_answer",
            reinforce(loss="-(advantage * log_probs).mean()"), "reinforce_plain",
            "averaging over the steps too"),
    Mistake("05_reinforce_loss", "reinforce_answer", reinforce(reduce=".sum(1).mean()"),
            "baseline_mse", "summing the baseline's squared errors over the steps"),
    Mistake("05_glimpse_patch", "glimpse_answer", patch(PADDED.format(first="y", second="x")),
            "patch_inside", "reading the corners as (row, column)"),
    Mistake("05_glimpse_patch", "glimpse_answer", patch(SHIFTED), "patch_outside",
            "shifting a patch that sticks out back inside the image"),
    Mistake("05_glimpse_patch", "glimpse_answer", patch(CUT), "patch_outside",
            "cropping only the part inside the image"),
    Mistake("05_glimpse_patch", "glimpse_answer", patch(corner="centres"), "glimpse_scales",
            "a square that starts at the centre"),
    Mistake("05_gaussian_policy", "gaussian_answer", gaussian(total=""), "gaussian_value",
            "leaving out the sum over the coordinates", hidden_only=("gaussian_sample",)),
    Mistake("05_gaussian_policy", "gaussian_answer", gaussian(variance="std"), "gaussian_value",
            "dividing the squared distance by 2 std instead of 2 std**2"),
    Mistake("05_gaussian_policy", "gaussian_answer", gaussian(detach=""), "gaussian_sample",
            "a sampled location that is not detached"),
]  # fmt: skip


@pytest.mark.parametrize("case", MISTAKES, ids=lambda m: f"{m.exercise}-{m.names[:30]}")
def test_the_mistake_is_named_in_the_notebook_and_the_grader(grader, tmp_path, case):
    check_diagnosis(grader, tmp_path, case)
