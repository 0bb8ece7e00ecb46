"""course_lib.mine: a lesson runs the learner's own passing answer, and says so."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch

from course_lib import mine
from course_lib.core import masks
from course_lib.core.attention import attention

COURSE_DIR = Path(__file__).resolve().parents[1]

# Right, but not the course's way: no softmax call, the maximum taken over allowed keys only.
DIFFERENT_BUT_CORRECT = """def masked_softmax(scores, mask):
    top = scores.masked_fill(~mask, float("-inf")).amax(-1, keepdim=True)  # (..., q, 1)
    shifted = (scores - top.nan_to_num(0.0, neginf=0.0)).masked_fill(~mask, float("-inf"))
    e = shifted.exp()  # masked keys: exp(-inf) = 0
    total = e.sum(-1, keepdim=True)
    return torch.where(total > 0, e / total.clamp_min(1e-30), torch.zeros_like(e))
"""
WRONG = """def masked_softmax(scores, mask):
    return torch.softmax(scores, dim=-1)  # forgets the mask
"""


# Grad-CAM's weighting, right but written with einsum and a sum / count instead of mean
GRADCAM_DIFFERENT = """def gradcam_map(activations, gradients):
    if gradients.shape != activations.shape:
        raise ValueError("gradients: expected the shape of activations")
    h, w = activations.shape[-2:]
    weights = gradients.sum(dim=(2, 3)) / (h * w)
    cam = torch.einsum("bk,bkij->bij", weights, activations).clamp_min(0.0)
    return weights, cam
"""

# Integrated gradients, right but walking the path backwards and averaging a stack of gradients
IG_DIFFERENT = """def integrated_gradients(f, x, baseline, steps=50):
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    grads = []
    for i in reversed(range(steps)):
        point = (x - (1 - (i + 0.5) / steps) * (x - baseline)).detach().requires_grad_()
        grads.append(torch.autograd.grad(f(point).sum(), point)[0])
    return (x - baseline) * torch.stack(grads).mean(0)
"""


# Additive scores, right but with einsum and the tanh input built by broadcasting views
ADDITIVE_DIFFERENT = """def additive_score(q, k, W_q, W_k, w_v):
    queries = torch.einsum("bqd,dh->bqh", q, W_q)
    keys = torch.einsum("bkd,dh->bkh", k, W_k)
    return torch.einsum("bqkh,h->bqk", torch.tanh(queries.unsqueeze(2) + keys.unsqueeze(1)), w_v)
"""

# Scaled dot-product attention, right but masking with a large negative number and a softmax
# written out
ATTENTION_DIFFERENT = """def scaled_dot_product_attention(q, k, v, mask=None):
    d = q.shape[-1]
    if k.shape[-1] != d:
        raise ValueError(f"q has d = {d} but k has d = {k.shape[-1]}")
    scores = (q @ k.transpose(-2, -1)) * d ** -0.5
    if mask is not None:
        scores = torch.where(mask, scores, torch.full_like(scores, -1e30))
    e = (scores - scores.amax(-1, keepdim=True)).exp()
    weights = e / e.sum(-1, keepdim=True)
    return weights @ v, weights
"""

# Causal self-attention, right but one head at a time
CAUSAL_DIFFERENT = """def causal_self_attention(x, w_qkv, b_qkv, w_out, b_out, n_heads):
    batch, length, d = x.shape
    size = d // n_heads
    qkv = torch.nn.functional.linear(x, w_qkv, b_qkv)
    future = torch.ones(length, length, dtype=torch.bool).triu(1)
    heads = []
    for h in range(n_heads):
        q, k, v = (qkv[..., part * d + h * size: part * d + (h + 1) * size] for part in range(3))
        scores = (q @ k.transpose(1, 2) / size ** 0.5).masked_fill(future, float("-inf"))
        heads.append(torch.softmax(scores, dim=-1) @ v)
    return torch.nn.functional.linear(torch.cat(heads, dim=-1), w_out, b_out)
"""


# The copy distribution, right but as a product with one-hot rows instead of a scatter
COPY_DIFFERENT = """def copy_distribution(weights, copy_ids, n_words):
    one_hot = torch.nn.functional.one_hot(copy_ids, n_words).to(weights.dtype)
    return weights @ one_hot
"""

# Switch's balancing loss, right but counting with bincount and summing a product
BALANCING_DIFFERENT = """def load_balancing_loss(router_probs, expert_index):
    n_experts = router_probs.shape[-1]
    counts = torch.bincount(expert_index, minlength=n_experts).to(router_probs.dtype)
    return n_experts * (counts / len(expert_index) * router_probs.mean(dim=0)).sum()
"""

# The Gaussian log-density, right but from the variance in one expression
GAUSSIAN_DIFFERENT = """def gaussian_log_prob(x, mean, std):
    var = torch.as_tensor(std, dtype=mean.dtype) ** 2
    per_dim = -((x - mean) ** 2) / (2 * var) - 0.5 * torch.log(2 * math.pi * var)
    return torch.broadcast_to(per_dim, torch.broadcast_shapes(x.shape, mean.shape)).sum(-1)


def sample_location(mean, std, noise):
    location = (mean + std * noise).detach()
    return location, gaussian_log_prob(location, mean, std)
"""

# The crop, right but from clamped index grids and a validity mask instead of padding
PATCH_DIFFERENT = """def extract_patch(images, corners, side):
    height, width = images.shape[1:]
    steps = torch.arange(side)
    rows = corners[:, 1, None] + steps  # (batch, side)
    cols = corners[:, 0, None] + steps  # (batch, side)
    in_rows, in_cols = (rows >= 0) & (rows < height), (cols >= 0) & (cols < width)
    inside = in_rows[:, :, None] & in_cols[:, None, :]  # (batch, side, side)
    picked = images[torch.arange(len(images))[:, None, None],
                    rows.clamp(0, height - 1)[:, :, None], cols.clamp(0, width - 1)[:, None, :]]
    return picked * inside


def glimpse(images, centres, patch, scales):
    crops = []
    for k in range(scales):
        side = patch * 2**k
        crop = extract_patch(images, centres - side // 2, side)
        crops.append(F.avg_pool2d(crop[:, None], 2**k)[:, 0])
    return torch.stack(crops, dim=1)
"""


# Bilinear sampling of ONE image (the exercise's convention), right but through one flat gather
BILINEAR_ONE_IMAGE = """def bilinear_sample(image, grid, align_corners=False):
    channels, height, width = image.shape
    x, y = grid[..., 0], grid[..., 1]
    if align_corners:
        u, v = (x + 1) / 2 * (width - 1), (y + 1) / 2 * (height - 1)
    else:
        u, v = ((x + 1) * width - 1) / 2, ((y + 1) * height - 1) / 2
    u0, v0 = u.floor(), v.floor()
    flat = image.reshape(channels, -1)
    out = 0
    for du in (0, 1):
        for dv in (0, 1):
            col, row = u0 + du, v0 + dv
            weight = (1 - (u - col).abs()) * (1 - (v - row).abs())
            inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
            index = (row.clamp(0, height - 1) * width + col.clamp(0, width - 1)).long()
            out = out + weight * inside * flat[:, index.flatten()].reshape(channels, *u.shape)
    return out
"""


def write_answer(folder: Path, source: str, exercise: str = "01_masked_softmax") -> Path:
    nb = json.loads((COURSE_DIR / "exercises" / f"{exercise}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = source
    path = folder / f"{exercise}.ipynb"
    path.write_text(json.dumps(nb))
    return path


def yours(folder: Path, source: str, exercise: str, name: str):
    """Write ``source`` as the learner's answer; the implementation chosen for ``name``, which
    must be theirs."""
    write_answer(folder, source, exercise)
    chosen = mine.implementation(name, folder)
    assert chosen.yours and chosen.function is not mine._resolve(mine.offered()[name][1])
    return chosen


@pytest.fixture
def batch():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 3)
    return q, k, v, torch.rand(2, 5, 6) > 0.3


def test_offered_are_exercise_answers_with_a_course_function_of_that_name():
    table = mine.offered()
    assert {"masked_softmax", "affine_grid", "attention_rollout", "tiled_attention"} <= set(table)
    assert {"additive_score", "scaled_dot_product_attention", "causal_self_attention"} <= set(table)
    assert table["gradcam_map"] == ("06_gradcam_map", "course_lib.explain.gradcam.gradcam_map")
    stand_ins = {
        "integrated_gradients": "course_lib.explain.saliency.path_integrated_gradients",
        "scaled_dot_product_attention": "course_lib.core.attention.attention",
    }
    for name, (exercise, dotted) in table.items():
        assert (COURSE_DIR / "solutions" / f"{exercise}.ipynb").exists()
        assert dotted.startswith("course_lib.")
        assert dotted.endswith(f".{name}") or stand_ins[name] == dotted
    assert table["integrated_gradients"] == (
        "06_integrated_gradients",
        stand_ins["integrated_gradients"],
    )
    assert "exact_match" not in table  # the exercise's arguments differ from the course's


def test_without_a_notebook_the_course_function_runs_and_says_why(tmp_path, batch):
    chosen = mine.implementation("masked_softmax", tmp_path)
    assert not chosen.yours and chosen.function is masks.masked_softmax
    assert "no " in chosen.why and "01_masked_softmax" in chosen.why
    assert str(chosen).startswith("masked_softmax: the course's")
    with mine.using("masked_softmax", folder=tmp_path) as (used,):
        attention(*batch)
    assert used.calls == {"yours": 0, "course": 1}


def test_a_different_but_correct_answer_is_the_one_that_runs(tmp_path, batch, monkeypatch, capsys):
    write_answer(tmp_path, DIFFERENT_BUT_CORRECT)
    chosen = mine.implementation("masked_softmax", tmp_path)
    assert chosen.yours and "passes the grader, 5/5" in chosen.why
    assert chosen.function.__code__.co_filename.startswith("<your answer")
    q, k, v, mask = batch
    expected = attention(q, k, v, mask)
    with mine.using("masked_softmax", folder=tmp_path) as (used,):
        assert masks.masked_softmax is not chosen.function  # wrapped, counting its calls
        got = attention(q, k, v, mask)  # the course's attention calls the learner's softmax
    assert used.calls == {"yours": 1, "course": 0}
    with mine.using("masked_softmax", folder=tmp_path) as (used,):
        attention(q, k, v)  # no mask: the learner's function requires one, the course's runs
        masks.masked_softmax(torch.randn(3, 4), dim=0)  # an argument the learner's lacks
    assert used.calls == {"yours": 0, "course": 2}
    assert "masked_softmax: yours" in capsys.readouterr().out
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e)
    assert attention.__globals__["masked_softmax"] is masks.masked_softmax  # restored
    monkeypatch.setenv(mine.ENV_VAR, str(tmp_path))
    from course_lib.mine import masked_softmax  # the import a lesson writes

    assert masked_softmax.__code__.co_filename.startswith("<your answer")


def test_a_wrong_answer_is_not_used_and_the_reason_names_the_score(tmp_path):
    write_answer(tmp_path, WRONG)
    chosen = mine.implementation("masked_softmax", tmp_path)
    assert not chosen.yours and chosen.function is masks.masked_softmax
    assert "scores 0/5" in chosen.why and "course-grade" in chosen.why


def test_the_grade_is_remembered_until_the_file_changes(tmp_path, monkeypatch):
    path = write_answer(tmp_path, DIFFERENT_BUT_CORRECT)
    runs = []
    real_run = subprocess.run

    def counting_run(*args, **kwargs):
        runs.append(args)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(mine.subprocess, "run", counting_run)
    assert mine.grade(path)["score"] == 5.0
    assert mine.grade(path)["score"] == 5.0 and len(runs) == 1
    write_answer(tmp_path, WRONG)
    assert mine.grade(path)["score"] == 0.0 and len(runs) == 2


def test_an_unknown_name_is_refused_with_the_names_on_offer():
    with pytest.raises(
        AttributeError, match="no exercise answer called 'softmaxx'.*masked_softmax"
    ):
        mine.implementation("softmaxx")


def test_the_learners_gradcam_weighting_runs_inside_the_course_gradcam(tmp_path):
    from course_lib.explain.gradcam import GradCAM

    write_answer(tmp_path, GRADCAM_DIFFERENT, "06_gradcam_map")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(4 * 8 * 8, 3),
    )  # fmt: skip
    images = torch.randn(2, 1, 8, 8)
    expected = GradCAM(model, model[1])(images)
    with mine.using("gradcam_map", folder=tmp_path) as (used,):
        got = GradCAM(model, model[1])(images)
    assert used.yours and used.calls == {"yours": 1, "course": 0}
    torch.testing.assert_close(got, expected)


def test_the_learners_integrated_gradients_runs_as_the_declared_stand_in(tmp_path):
    from course_lib.explain import saliency

    write_answer(tmp_path, IG_DIFFERENT, "06_integrated_gradients")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    x, target = torch.randn(4, 5), torch.tensor([0, 2, 1, 2])
    expected = saliency.integrated_gradients(model, x, target, steps=8)
    with mine.using("integrated_gradients", folder=tmp_path) as (used,):
        got = saliency.integrated_gradients(model, x, target, steps=8)  # the model-level API
        saliency.integrated_gradients(model, x, target, steps=8, rule="trapezoid")  # not theirs
    assert used.yours and used.calls == {"yours": 1, "course": 1}
    torch.testing.assert_close(got, expected)
    assert saliency.path_integrated_gradients.__module__ == saliency.__name__  # restored


def test_the_learners_additive_score_runs_inside_the_course_module(tmp_path):
    from course_lib.core.attention import AdditiveScore

    write_answer(tmp_path, ADDITIVE_DIFFERENT, "01_additive_score")
    torch.manual_seed(0)
    score, q, k = AdditiveScore(4, 6, 8), torch.randn(2, 3, 4), torch.randn(2, 5, 6)
    expected = score(q, k)  # (2, 3, 5)
    with mine.using("additive_score", folder=tmp_path) as (used,):
        got = score(q, k)
    assert used.yours and used.calls == {"yours": 1, "course": 0}
    torch.testing.assert_close(got, expected)


def test_the_learners_attention_runs_inside_multi_head_attention(tmp_path):
    from course_lib.core import attention as module  # the swap replaces the module's name
    from course_lib.core.masks import causal_mask
    from course_lib.core.transformer import MultiHeadAttention, TransformerConfig

    write_answer(tmp_path, ATTENTION_DIFFERENT, "01_scaled_dot_attention")
    torch.manual_seed(0)
    layer, x = MultiHeadAttention(TransformerConfig(d_model=16, n_heads=4)), torch.randn(2, 5, 16)
    expected = layer(x, x, x, causal_mask(5))[0]
    with mine.using("scaled_dot_product_attention", folder=tmp_path) as (used,):
        got = layer(x, x, x, causal_mask(5))[0]  # mask (batch*heads, T, T) reaches yours
        module.attention(x, x, x, score=module.dot_score)  # an argument yours lacks: course's
    assert used.yours and used.calls == {"yours": 1, "course": 1}
    torch.testing.assert_close(got, expected)


def test_the_learners_causal_self_attention_is_what_the_lesson_imports(tmp_path):
    from course_lib.core import torch_mha

    chosen = yours(tmp_path, CAUSAL_DIFFERENT, "03_causal_self_attention", "causal_self_attention")
    torch.manual_seed(0)
    theirs, x = torch.nn.MultiheadAttention(16, 4, batch_first=True), torch.randn(2, 5, 16)
    weights = (theirs.in_proj_weight, theirs.in_proj_bias, theirs.out_proj.weight,
               theirs.out_proj.bias)  # fmt: skip
    blocked = torch.ones(5, 5, dtype=torch.bool).triu(1)
    expected = theirs(x, x, x, attn_mask=blocked)[0]
    torch.testing.assert_close(chosen.function(x, *weights, 4), expected)
    torch.testing.assert_close(torch_mha.causal_self_attention(x, *weights, 4), expected)


def test_the_learners_copy_distribution_runs_inside_the_pointer_predictions(tmp_path):
    from course_lib.language import pointer

    write_answer(tmp_path, COPY_DIFFERENT, "02_copy_distribution")
    torch.manual_seed(0)
    weights = torch.softmax(torch.randn(2, 3, 7), dim=-1)  # (batch, slots, n)
    copy_ids = torch.tensor([[0, 1, 2, 1, 3, 0, 2], [4, 4, 1, 0, 2, 3, 1]])
    targets = torch.tensor([[1, 2, 0], [4, 1, 3]])
    expected = (
        pointer.predict_words(weights, copy_ids),
        pointer.pointer_loss(weights, copy_ids, targets),
    )
    with mine.using("copy_distribution", folder=tmp_path) as (used,):
        got = (
            pointer.predict_words(weights, copy_ids),
            pointer.pointer_loss(weights, copy_ids, targets),
        )
    assert used.yours and used.calls == {"yours": 2, "course": 0}
    assert torch.equal(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1])


def test_the_learners_balancing_loss_runs_inside_the_moe_layer(tmp_path):
    from course_lib.scale.moe import MoEFeedForward

    write_answer(tmp_path, BALANCING_DIFFERENT, "07_load_balancing_loss")
    torch.manual_seed(0)
    layer, x = MoEFeedForward(d_model=6, d_ff=8, n_experts=4, k=2), torch.randn(2, 5, 6)
    layer(x)
    expected = layer.aux_loss
    with mine.using("load_balancing_loss", folder=tmp_path) as (used,):
        layer(x)  # top-2 routing: the layer passes each token's first choice, (tokens,)
    assert used.yours and used.calls == {"yours": 1, "course": 0}
    torch.testing.assert_close(layer.aux_loss, expected)
    layer.aux_loss.backward()  # the router still learns from it
    assert layer.router.proj.weight.grad.abs().sum() > 0


def test_the_learners_gaussian_density_runs_inside_the_ram(tmp_path):
    from course_lib.hard.ram import RAM
    from tests.hard.test_ram import SMALL as config  # a small RAM: 32x32 images, 4 glimpses

    write_answer(tmp_path, GAUSSIAN_DIFFERENT, "05_gaussian_policy")
    torch.manual_seed(0)
    ram, images = RAM(config), torch.rand(3, 1, 32, 32)
    expected = ram(images, generator=torch.Generator().manual_seed(1)).log_probs
    with mine.using("gaussian_log_prob", folder=tmp_path) as (used,):
        got = ram(images, generator=torch.Generator().manual_seed(1)).log_probs  # (3, T-1)
    assert used.yours and used.calls == {"yours": 3, "course": 0}  # one per sampled location
    torch.testing.assert_close(got, expected)


def test_the_learners_extract_patch_is_what_the_lesson_imports(tmp_path):
    from course_lib.core import retina

    chosen = yours(tmp_path, PATCH_DIFFERENT, "05_glimpse_patch", "extract_patch")
    torch.manual_seed(0)
    images = torch.rand(3, 10, 12)
    corners = torch.tensor([[2, 3], [-4, 6], [9, -20]])  # inside, partly outside, far outside
    torch.testing.assert_close(
        chosen.function(images, corners, 5), retina.extract_patch(images, corners, 5)
    )


def test_a_one_example_answer_runs_on_each_example_of_the_courses_batch(tmp_path):
    from course_lib.vision import spatial

    chosen = yours(tmp_path, BILINEAR_ONE_IMAGE, "04_bilinear_sample", "bilinear_sample")
    assert "each example" in chosen.why
    torch.manual_seed(0)
    images = torch.rand(3, 2, 9, 7)  # (batch, C, H, W): the course's batched convention
    theta = (torch.randn(3, 2, 3) * 0.4 + torch.eye(2, 3)).requires_grad_()
    grid = spatial.affine_grid(theta, (3, 2, 5, 6))  # (3, 5, 6, 2)
    got = chosen.function(images, grid)  # (3, 2, 5, 6)
    expected = torch.nn.functional.grid_sample(images, grid, align_corners=False)
    torch.testing.assert_close(got, expected)
    (grad,) = torch.autograd.grad(got.sum(), theta, retain_graph=True)  # reaches theta
    torch.testing.assert_close(grad, torch.autograd.grad(expected.sum(), theta)[0])
    with pytest.raises(ValueError, match="bilinear_sample: .*first .*batch.* dimension"):
        chosen.function(images, grid[:2])
    model = spatial.SpatialTransformer(from_scratch=True)  # calls bilinear_sample on a batch
    x = torch.rand(4, 1, model.config.in_size, model.config.in_size)
    expected = model(x)
    with mine.using("bilinear_sample", folder=tmp_path) as (used,):
        got = model(x)
    assert used.calls == {"yours": 1, "course": 0}
    torch.testing.assert_close(got, expected)
