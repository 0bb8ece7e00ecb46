"""What the common mistakes of each exercise give: the values an exercise's checks compare a
wrong answer with, to name the mistake instead of showing a fixed hint (``mistakes=`` of
:func:`course_lib.check.close` and :func:`course_lib.check.equal`).

They live here, not in the exercises' test cells, because a mistake is usually the answer with
one thing changed: written out in a test cell it would show the learner the answer. Like the
references the tests use, this module is for reading *after* solving an exercise. Each function
takes a test's inputs and returns ``{what the learner did: the value it gives}``; none calls a
reference an exercise forbids (the grader records these values in the solution's own run,
where those references are disabled). Functions are named after the exercise's test cell.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_lib.core.masks import causal_mask, masked_softmax


def masked_padding(scores, mask):
    """``01_masked_softmax``, check 'padded keys get weight exactly 0'."""
    return {
        "an inverted mask (filling where the mask is True)": torch.nan_to_num(
            torch.softmax(scores.masked_fill(mask, float("-inf")), -1)
        ).masked_fill(mask, 0.0),
    }


def masked_padding_2(scores, mask):
    """``01_masked_softmax``, check 'weights equal a softmax over the real keys only'."""
    return {
        "multiplying the softmax by the mask without renormalising": torch.softmax(scores, -1)
        * mask,
        "an inverted mask (filling where the mask is True)": torch.nan_to_num(
            torch.softmax(scores.masked_fill(mask, float("-inf")), -1)
        ),
    }


def masked_empty_row(scores, mask):
    """``01_masked_softmax``, check 'all-masked row is zeros'."""
    return {
        "filling with -1e9 instead of -inf (an all-masked row becomes uniform)": torch.softmax(
            scores.masked_fill(~mask, -1e9), -1
        ),
        "no guard for a fully masked row (softmax of all -inf is nan)": torch.softmax(
            scores.masked_fill(~mask, float("-inf")), -1
        ),
    }


def sdpa_plain(q, k, v):
    """``01_scaled_dot_attention``, check 'output equals F.scaled_dot_product_attention'."""
    return {
        "leaving out the 1/sqrt(d) scaling": torch.softmax(q @ k.transpose(-2, -1), -1) @ v,
        "scaling by sqrt(d_v), the value size, instead of sqrt(d)": torch.softmax(
            q @ k.transpose(-2, -1) / math.sqrt(v.shape[-1]), -1
        )
        @ v,
        "a softmax over the queries (dim=1) instead of the keys": torch.softmax(
            q @ k.transpose(-2, -1) / math.sqrt(8), dim=1
        )
        @ v,
        "returning (weights, output) instead of (output, weights)": torch.softmax(
            q @ k.transpose(-2, -1) / math.sqrt(8), -1
        ),
    }


def sdpa_causal(q, k, v):
    """``01_scaled_dot_attention``, check "causal output equals torch's"."""
    return {
        "an inverted mask (filling where the mask is True)": torch.softmax(
            (q @ k.transpose(-2, -1) / 2).masked_fill(causal_mask(6), float("-inf")), -1
        )
        @ v,
    }


def softmax_small(x):
    """``00_warmup``, checks 'softmax of two rows' and 'hidden: random rows'."""
    return {
        "normalising over the first dimension (dim=0) instead of the last": x.exp()
        / x.exp().sum(dim=0, keepdim=True),
        "dividing by the sum of the whole tensor instead of each row's own sum": x.exp()
        / x.exp().sum(),
    }


def softmax_stable(x):
    """``00_warmup``, checks 'large scores give no inf or nan' and 'hidden: large random rows'."""
    return {
        "exponentiating without first subtracting each row's maximum (exp overflows)": x.exp()
        / x.exp().sum(dim=-1, keepdim=True),
    }


def softmax_batched(x):
    """``00_warmup``, check 'softmax over the last dim of a 3-D tensor' (as softmax_small)."""
    return softmax_small(x)


def bahdanau_step_values(dec, y_prev, state, memory, src_mask):
    """``02_bahdanau_step``, check 'attention weights (batch, S)'."""
    weights = masked_softmax(dec.score(state[:, None], memory), src_mask)  # (batch, 1, S)
    new_state = dec.cell(torch.cat([dec.embed(y_prev), (weights @ memory)[:, 0]], -1), state)
    return {
        "a plain softmax without the padding mask": torch.softmax(
            dec.score(state[:, None], memory), -1
        )[:, 0],
        "keeping the queries axis in the returned weights": weights,
        "the new state s_t as the query (Luong's order) instead of the previous state s_{t-1}": masked_softmax(
            dec.score(new_state[:, None], memory), src_mask
        )[:, 0],
    }


def bahdanau_step_values_2(state):
    """``02_bahdanau_step``, check 'new state s_t'."""
    return {"returning the old state s_{t-1} instead of the new state s_t": state}


def bahdanau_step_padding(dec, state, memory, src_mask):
    """``02_bahdanau_step``, check 'padding gets weight 0' (sentence 1, padded from position 2)."""
    return {
        "a plain softmax without the padding mask": torch.softmax(
            dec.score(state[:, None], memory), -1
        )[1, 0, 2:],
        "keeping the queries axis in the returned weights": masked_softmax(
            dec.score(state[:, None], memory), src_mask
        )[1, 2:],
    }


def exact_match_basic(pred, tgt):
    """``02_exact_match``, check 'exact match per sentence'."""
    return {
        "comparing the tensors position by position instead of up to the first <eos>": (
            pred[:, : tgt.shape[1]] == tgt
        ).all(-1),
        "returning integers (0/1) instead of booleans": torch.tensor([1, 0, 0, 0]),  # these inputs
    }


def exact_match_basic_2():
    """``02_exact_match``, check 'hidden: empty output, missing eos, shorter prediction tensor'."""
    return {  # the first prediction is <eos> <eos>: cut at its last <eos>, it is too long
        "cutting the prediction at its last <eos> instead of its first": torch.tensor(
            [False, False, False, True]
        ),
    }


def _bins_closed_on_the_right(lengths, correct, edges):
    return torch.tensor(
        [
            correct[(lengths >= low) & (lengths <= high)].float().mean().item()
            for low, high in zip(edges[:-1], edges[1:], strict=True)
        ]
    )


def accuracy_by_length_bins(lengths, correct):
    """``02_exact_match``, check 'accuracy per bin [0, 6), [6, 9), [9, 13)'."""
    return {
        "giving an empty bin 0 instead of nan": torch.tensor([2 / 3, 0.0, 0.25]),  # these inputs
        "bins closed on the right (length <= the upper edge)": _bins_closed_on_the_right(
            lengths, correct, [0, 6, 9, 13]
        ),
    }


def accuracy_by_length_bins_2(lengths, correct):
    """``02_exact_match``, check 'hidden: random lengths'."""
    return {
        "bins closed on the right (length <= the upper edge)": _bins_closed_on_the_right(
            lengths, correct, [0, 5, 10, 20, 30, 45]
        ),
    }


def attention_pool_values(states, u, W_q, W_k, w_v):
    """``02_attention_pooling``, check 'weights'."""
    return {
        "a softmax over all the tokens, padding included": torch.softmax(
            torch.tanh(u @ W_q + states @ W_k) @ w_v, -1
        ),
    }


def attention_pool_values_2(states):
    """``02_attention_pooling``, check 'pooled vectors'."""
    return {"the mean of the states instead of their weighted sum": states.mean(1)}


def attention_pool_module(score, u, states):
    """``02_attention_pooling``, check 'weights like masked_softmax(AdditiveScore(u, h))'."""
    return {
        "a softmax over all the tokens, padding included": torch.softmax(
            score(u.expand(len(states), 1, -1), states), -1
        )[:, 0].detach(),
    }


def rationale_mass_values(weights, rationale):
    """``02_attention_pooling``, checks 'mass on the deciding tokens' and 'hidden: random
    weights'."""
    return {
        "the mean over the tokens instead of the sum": (weights * rationale).mean(-1),
        "one sum over the whole batch instead of one per sentence": weights[rationale].sum(),
    }


def copy_distribution_small(weights, copy_ids):
    """``02_copy_distribution``, check 'probability of each word' (5 words)."""
    return {
        "scatter instead of scatter_add (a repeated word keeps only one of its weights)": torch.zeros(
            1, 2, 5
        ).scatter(-1, copy_ids[:, None].expand(1, 2, 7), weights),
    }


def copy_distribution_small_2(weights, copy_ids):
    """``02_copy_distribution``, check 'hidden: random documents' (6 words)."""
    return {
        "the first document's copy ids for every document": torch.zeros(3, 2, 6).scatter_add(
            -1, copy_ids[:1, None].expand(3, 2, 10), weights
        ),
    }


def copy_distribution_batch(weights, copy_ids):
    """``02_copy_distribution``, check 'probabilities sum to 1 per slot' (4 words)."""
    return {
        "scatter instead of scatter_add (a repeated word keeps only one of its weights)": torch.zeros(
            2, 3, 4
        )
        .scatter(-1, copy_ids[:, None].expand(2, 3, 5), weights)
        .sum(-1),
    }


def copy_distribution_batch_2(weights, copy_ids):
    """``02_copy_distribution``, check 'two documents, three slots' (4 words)."""
    return {
        "the first document's copy ids for every document": torch.zeros(2, 3, 4).scatter_add(
            -1, copy_ids[:1, None].expand(2, 3, 5), weights
        ),
    }


def causal_sa_values(params, x):
    """``03_causal_self_attention``, check '4 heads, 5 tokens'."""
    return (
        lambda q, k, v: {  # q, k, v: (batch, heads, T, d_head) = (2, 4, 5, 2)
            "scaling by sqrt(d) instead of sqrt(d_head) = sqrt(d / n_heads)": (
                masked_softmax(q @ k.transpose(-2, -1) / math.sqrt(8), causal_mask(5)) @ v
            )
            .transpose(1, 2)
            .reshape(2, 5, 8)
            @ params[2].T
            + params[3],
            "leaving out the causal mask": (
                torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(2), -1) @ v
            )
            .transpose(1, 2)
            .reshape(2, 5, 8)
            @ params[2].T
            + params[3],
            "merging the heads without swapping the heads and T axes back": (
                masked_softmax(q @ k.transpose(-2, -1) / math.sqrt(2), causal_mask(5)) @ v
            ).reshape(2, 5, 8)
            @ params[2].T
            + params[3],
            "leaving out the output projection (w_out, b_out)": (
                masked_softmax(q @ k.transpose(-2, -1) / math.sqrt(2), causal_mask(5)) @ v
            )
            .transpose(1, 2)
            .reshape(2, 5, 8),
        }
    )(*(x @ params[0].T + params[1]).reshape(2, 5, 3, 4, 2).permute(2, 0, 3, 1, 4))


def sinusoidal_values():
    """``03_sinusoidal_encoding``, check 'sinusoidal_encoding(6, 8)'."""
    return {
        "cosines in the even columns and sines in the odd ones": torch.stack(
            [
                f(torch.arange(6.0)[:, None] * 10000.0 ** (-torch.arange(0, 8, 2) / 8))
                for f in (torch.cos, torch.sin)
            ],
            dim=-1,
        ).reshape(6, 8),
        "sines and cosines in two halves ([sin, cos] concatenated) instead of interleaved": torch.cat(
            [
                f(torch.arange(6.0)[:, None] * 10000.0 ** (-torch.arange(0, 8, 2) / 8))
                for f in (torch.sin, torch.cos)
            ],
            dim=-1,
        ),
        "the exponent -i/d instead of -2i/d (torch.arange(d // 2))": torch.stack(
            [
                f(torch.arange(6.0)[:, None] * 10000.0 ** (-torch.arange(4) / 8))
                for f in (torch.sin, torch.cos)
            ],
            dim=-1,
        ).reshape(6, 8),
    }


def sinusoidal_properties():
    """``03_sinusoidal_encoding``, check 'base=100'."""
    return {
        "ignoring the base argument (10000 hard-coded)": torch.stack(
            [
                f(torch.arange(7.0)[:, None] * 10000.0 ** (-torch.arange(0, 6, 2) / 6))
                for f in (torch.sin, torch.cos)
            ],
            dim=-1,
        ).reshape(7, 6),
    }


def split_heads_layout(x):
    """``03_split_heads``, check 'split_heads(x, 3): shape (2, 3, 5, 4) and values'."""
    return {
        "reshaping x straight to (batch, heads, T, d_head) without the transpose": x.reshape(
            2, 3, 5, 4
        ),
    }


def merge_heads_inverse(x):
    """``03_split_heads``, check 'merge_heads(split_heads(x, 2)) == x'."""
    return {
        "reshaping to (batch, T, d_model) without swapping the heads and T axes back": x.reshape(
            2, 4, 2, 4
        )
        .transpose(1, 2)
        .reshape(2, 4, 8),
    }


def merge_heads_inverse_2(y):
    """``03_split_heads``, check 'merge_heads of (3, 2, 5, 6)'."""
    return {
        "reshaping to (batch, T, d_model) without swapping the heads and T axes back": y.reshape(
            3, 5, 12
        ),
    }


def affine_grid_identity():
    """``04_affine_grid``, check 'identity grid, 2x4 output'."""
    return {
        "ignoring align_corners (linspace(-1, 1, n) are the align_corners=True centres)": torch.stack(
            torch.meshgrid(torch.linspace(-1, 1, 2), torch.linspace(-1, 1, 4), indexing="ij")[::-1],
            dim=-1,
        )[None],
        "putting (y, x) instead of (x, y) in the base grid": torch.stack(
            torch.meshgrid(
                (2 * torch.arange(2.0) + 1) / 2 - 1,
                (2 * torch.arange(4.0) + 1) / 4 - 1,
                indexing="ij",
            ),
            dim=-1,
        )[None],
    }


def bilinear_centres(image, centres):
    """``04_bilinear_sample``, check 'align_corners=True at the pixel centres returns the image'."""
    return {  # bilinear reads at column u, row v: weights max(0, 1 - distance) per axis
        "reading the grid as (y, x), rows first": torch.einsum(
            "crw,ijr,ijw->cij",
            image,
            (1 - ((centres[..., 0, None] + 1) / 2 * 2 - torch.arange(3)).abs()).clamp(min=0),
            (1 - ((centres[..., 1, None] + 1) / 2 * 3 - torch.arange(4)).abs()).clamp(min=0),
        ),
        "the align_corners=False formula for both values of align_corners": torch.einsum(
            "crw,ijr,ijw->cij",
            image,
            (1 - (((centres[..., 1, None] + 1) * 3 - 1) / 2 - torch.arange(3)).abs()).clamp(min=0),
            (1 - (((centres[..., 0, None] + 1) * 4 - 1) / 2 - torch.arange(4)).abs()).clamp(min=0),
        ),
    }


def bilinear_random(image, grid):
    """``04_bilinear_sample``, check 'align_corners=False'."""
    return {  # bilinear reads at column u, row v: weights max(0, 1 - distance) per axis
        "the align_corners=True formula for both values of align_corners": torch.einsum(
            "crw,ijr,ijw->cij",
            image,
            (1 - ((grid[..., 1, None] + 1) / 2 * 4 - torch.arange(5)).abs()).clamp(min=0),
            (1 - ((grid[..., 0, None] + 1) / 2 * 5 - torch.arange(6)).abs()).clamp(min=0),
        ),
        "clamping the neighbours' indices at the border without zeroing those outside the image": torch.einsum(
            "crw,ijr,ijw->cij",
            image,
            (
                1 - (((grid[..., 1, None] + 1) * 5 - 1) / 2).clamp(0, 4).sub(torch.arange(5)).abs()
            ).clamp(min=0),
            (
                1 - (((grid[..., 0, None] + 1) * 6 - 1) / 2).clamp(0, 5).sub(torch.arange(6)).abs()
            ).clamp(min=0),
        ),
    }


def bilinear_border_grad(image, grid):
    """``04_bilinear_sample``, check 'zeros outside the image'."""
    return {  # bilinear reads at column u, row v: weights max(0, 1 - distance) per axis
        "clamping the neighbours' indices at the border without zeroing those outside the image": torch.einsum(
            "crw,ijr,ijw->cij",
            image,
            (
                1 - (((grid[..., 1, None] + 1) * 4 - 1) / 2).clamp(0, 3).sub(torch.arange(4)).abs()
            ).clamp(min=0),
            (
                1 - (((grid[..., 0, None] + 1) * 5 - 1) / 2).clamp(0, 4).sub(torch.arange(5)).abs()
            ).clamp(min=0),
        ),
    }


def grid_attention_weights(score, hidden, features):
    """``04_grid_attention``, check 'weights equal the reference'."""
    return {
        "flattening the grid column by column": torch.softmax(
            score(hidden[:, None], features.transpose(2, 3).flatten(2).transpose(1, 2)), -1
        ).reshape(2, 3, 3),
    }


def grid_attention_context(score, hidden, features):
    """``04_grid_attention``, check 'hidden: weights, 5x2 grid'."""
    return {
        "flattening the grid column by column": torch.softmax(
            score(hidden[:, None], features.transpose(2, 3).flatten(2).transpose(1, 2)), -1
        ).reshape(4, 5, 2),
    }


def grid_attention_place():
    """``04_grid_attention``, check 'the peak is at row 2, column 1'."""
    return {  # column by column, (row 2, column 1) is cell 1 * 3 + 2 = 5: row 1, column 1 of 4
        "flattening the grid column by column": (1, 1),
    }


def patchify_small(images):
    """``04_patchify``, check 'patch values and order'."""
    return {
        "a plain reshape to (batch, N, C * p * p) (rows of pixels, not patches)": images.reshape(
            1, 4, 4
        ),
    }


def patchify_batch(images):
    """``04_patchify``, check '3 channels, 8x12, patch 4'."""
    return {
        "a plain reshape to (batch, N, C * p * p) (rows of pixels, not patches)": images.reshape(
            2, 6, 48
        ),
        "putting the channel last inside a patch": images.reshape(2, 3, 2, 4, 3, 4)
        .permute(0, 2, 4, 3, 5, 1)
        .reshape(2, 6, 48),
    }


def gaussian_value(x, mean):
    """``05_gaussian_policy``, check 'log-density, std 0.3'."""
    return {
        "leaving out the sum over the coordinates": -0.5 * ((x - mean) / 0.3) ** 2
        - math.log(0.3)
        - 0.5 * math.log(2 * math.pi),
        "dividing the squared distance by 2 std instead of 2 std**2": (
            -((x - mean) ** 2) / (2 * 0.3) - math.log(0.3) - 0.5 * math.log(2 * math.pi)
        ).sum(-1),
    }


def gaussian_value_2(x, mean, std):
    """``05_gaussian_policy``, check 'hidden: per-dimension std, 3-D input'."""
    return {
        "leaving out the sum over the coordinates": -0.5 * ((x - mean) / std) ** 2
        - torch.log(std)
        - 0.5 * math.log(2 * math.pi),
        "dividing the squared distance by 2 std instead of 2 std**2": (
            -((x - mean) ** 2) / (2 * std) - torch.log(std) - 0.5 * math.log(2 * math.pi)
        ).sum(-1),
    }


def gaussian_score(x):
    """``05_gaussian_policy``, check 'd log pi / d mean'."""
    return {"dividing the squared distance by 2 std instead of 2 std**2": x / 0.5}


def gaussian_sample():
    """``05_gaussian_policy``, check 'location carries no gradient'."""
    return {"a sampled location that is not detached": True}


def gaussian_sample_2(noise):
    """``05_gaussian_policy``, check 'gradient of its log-probability w.r.t. the mean'."""
    return {
        "dividing the squared distance by 2 std instead of 2 std**2": noise,
        "a sampled location that is not detached (its gradient cancels the one through the mean)": torch.zeros(
            3, 2
        ),
    }


def gaussian_sample_3(noise):
    """``05_gaussian_policy``, check 'hidden: log-probability of the sample'."""
    return {
        "leaving out the sum over the coordinates": -0.5 * noise**2
        - math.log(0.2)
        - 0.5 * math.log(2 * math.pi),
        "dividing the squared distance by 2 std instead of 2 std**2": (
            -((0.2 * noise) ** 2) / (2 * 0.2) - math.log(0.2) - 0.5 * math.log(2 * math.pi)
        ).sum(-1),
    }


def patch_inside(images):
    """``05_glimpse_patch``, check 'patches inside the image'."""
    return {
        "reading the corners as (row, column) instead of (x, y)": torch.stack(
            [images[0, 0:4, 0:4], images[1, 5:9, 3:7]]
        )
    }


def patch_inside_2(images):
    """``05_glimpse_patch``, check 'hidden: other inside patches'."""
    return {
        "reading the corners as (row, column) instead of (x, y)": torch.stack(
            [images[0, 2:8, 9:15], images[1, 10:16, 1:7], images[2, 7:13, 7:13]]
        )
    }


def patch_outside(images):
    """``05_glimpse_patch``, check 'patches partly outside'."""
    return {
        "shifting a patch that sticks out back inside the image instead of padding with zeros": torch.stack(
            [images[0, 0:4, 0:4], images[1, 2:6, 2:6]]
        ),
        "cropping only the part inside the image and zero-filling after it instead of padding the image first": torch.stack(
            [F.pad(images[0, 0:3, 0:2], (0, 2, 0, 1)), F.pad(images[1, 5:6, 4:6], (0, 2, 0, 3))]
        ),
        "reading the corners as (row, column) instead of (x, y)": torch.stack(
            [F.pad(torch.ones(2, 3), (1, 0, 2, 0)), F.pad(torch.ones(2, 1), (0, 3, 0, 2))]
        ),
    }


def glimpse_scales(images, centres):
    """``05_glimpse_patch``, check 'glimpse of 3 scales of 4x4'."""
    return {
        "a square that starts at the centre instead of being centred on it": torch.stack(
            [
                F.avg_pool2d(
                    torch.stack(
                        [
                            F.pad(image, (16, 16, 16, 16))[
                                16 + y : 16 + y + 4 * 2**k, 16 + x : 16 + x + 4 * 2**k
                            ]
                            for image, (x, y) in zip(images, centres.tolist(), strict=True)
                        ]
                    )[:, None],
                    2**k,
                )[:, 0]
                for k in range(3)
            ],
            dim=1,
        ),
    }


def reinforce_plain(rewards, log_probs):
    """``05_reinforce_loss``, check 'loss without a baseline'."""
    return {
        "the loss to maximise instead of minimise (no minus sign)": (rewards[:, None] * log_probs)
        .sum(1)
        .mean()
        .detach(),
        "averaging over the steps too (the mean of the whole matrix)": -(
            rewards[:, None] * log_probs
        )
        .mean()
        .detach(),
    }


def reinforce_plain_2(rewards):
    """``05_reinforce_loss``, check 'gradient w.r.t. log_probs'."""
    return {
        "the loss to maximise instead of minimise (no minus sign)": (rewards[:, None] / 4).expand(
            4, 3
        ),
        "averaging over the steps too (the mean of the whole matrix)": -(
            rewards[:, None] / 12
        ).expand(4, 3),
    }


def reinforce_plain_3(rewards, log_probs):
    """``05_reinforce_loss``, check 'hidden: other shapes'."""
    return {
        "the loss to maximise instead of minimise (no minus sign)": (rewards[:, None] * log_probs)
        .sum(1)
        .mean(),
        "averaging over the steps too (the mean of the whole matrix)": -(
            rewards[:, None] * log_probs
        ).mean(),
    }


def reinforce_baseline(rewards, log_probs):
    """``05_reinforce_loss``, check 'loss with a baseline'."""
    return {
        "the loss to maximise instead of minimise (no minus sign)": (
            (rewards[:, None] - 0.75) * log_probs
        )
        .sum(1)
        .mean()
        .detach(),
        "averaging over the steps too (the mean of the whole matrix)": -(
            (rewards[:, None] - 0.75) * log_probs
        )
        .mean()
        .detach(),
    }


def reinforce_baseline_2(log_probs):
    """``05_reinforce_loss``, check 'gradient that reaches the baseline'."""
    return {
        "an advantage R - b that is not detached (the policy's loss trains the baseline)": log_probs.detach()
        / 4
    }


def reinforce_baseline_3(rewards, baselines, log_probs):
    """``05_reinforce_loss``, check 'hidden: random baselines'."""
    return {
        "the loss to maximise instead of minimise (no minus sign)": (
            (rewards[:, None] - baselines) * log_probs
        )
        .sum(1)
        .mean(),
        "averaging over the steps too (the mean of the whole matrix)": -(
            (rewards[:, None] - baselines) * log_probs
        ).mean(),
    }


def baseline_mse(baselines, rewards):
    """``05_reinforce_loss``, check 'baseline loss'."""
    return {
        "summing the baseline's squared errors over the steps instead of averaging them": (
            (baselines - rewards[:, None]) ** 2
        )
        .sum(1)
        .mean()
        .detach()
    }


def baseline_mse_2(baselines, rewards):
    """``05_reinforce_loss``, check 'its gradient w.r.t. the baselines'."""
    return {
        "summing the baseline's squared errors over the steps instead of averaging them": (
            2 * (baselines - rewards[:, None]) / 3
        ).detach()
    }


def baseline_mse_3(baselines, rewards):
    """``05_reinforce_loss``, check 'hidden: other shapes'."""
    return {
        "summing the baseline's squared errors over the steps instead of averaging them": (
            (baselines - rewards[:, None]) ** 2
        )
        .sum(1)
        .mean()
    }


def rollout_one_layer(weights):
    """``06_attention_rollout``, check 'one layer, one head'."""
    return {"leaving out the residual identity (0.5 A + 0.5 I)": weights[0].mean(1)}


def rollout_one_layer_2(two_heads):
    """``06_attention_rollout``, check 'mean over heads first'."""
    return {"leaving out the residual identity (0.5 A + 0.5 I)": two_heads[0].mean(1)}


def rollout_layers(weights):
    """``06_attention_rollout``, check 'three layers'."""
    return {
        "multiplying the layers in the wrong order (R = R @ A_l)": (
            0.5 * weights[0].mean(1) + 0.5 * torch.eye(5)
        )
        @ (0.5 * weights[1].mean(1) + 0.5 * torch.eye(5))
        @ (0.5 * weights[2].mean(1) + 0.5 * torch.eye(5)),
        "leaving out the residual identity (0.5 A + 0.5 I)": weights[2].mean(1)
        @ weights[1].mean(1)
        @ weights[0].mean(1),
    }


def rollout_layers_2(weights):
    """``06_attention_rollout``, check 'hidden: one layer, three heads'."""
    return {"leaving out the residual identity (0.5 A + 0.5 I)": weights[0].mean(1)}


def gradcam_small(gradients):
    """``06_gradcam_map``, check 'weights = mean gradient per channel'."""
    return {
        "summing the gradients over the positions instead of averaging them": gradients.sum(
            dim=(2, 3)
        )
    }


def gradcam_small_2(gradients, activations):
    """``06_gradcam_map``, check 'map = ReLU of the weighted channel sum'."""
    return {
        "leaving out the ReLU": (gradients.mean((2, 3))[:, :, None, None] * activations).sum(1),
        "summing the gradients over the positions instead of averaging them": torch.relu(
            (gradients.sum((2, 3))[:, :, None, None] * activations).sum(1)
        ),
    }


def gradcam_random(gradients, activations):
    """``06_gradcam_map``, check 'maps'."""
    return {
        "leaving out the ReLU": (gradients.mean((2, 3))[:, :, None, None] * activations).sum(1),
        "summing the gradients over the positions instead of averaging them": torch.relu(
            (gradients.sum((2, 3))[:, :, None, None] * activations).sum(1)
        ),
    }


def gradcam_random_2(gradients):
    """``06_gradcam_map``, check 'hidden: weights of tiny gradients'."""
    return {
        "summing the gradients over the positions instead of averaging them": gradients.sum((2, 3))
    }


def gradcam_random_3(gradients, activations):
    """``06_gradcam_map``, check 'hidden: maps of tiny gradients'."""
    return {
        "leaving out the ReLU": (gradients.mean((2, 3))[:, :, None, None] * activations).sum(1),
        "summing the gradients over the positions instead of averaging them": torch.relu(
            (gradients.sum((2, 3))[:, :, None, None] * activations).sum(1)
        ),
    }


def gradcam_random_4(activations):
    """``06_gradcam_map``, check 'hidden: all-negative evidence gives a zero map'."""
    return {"leaving out the ReLU": -activations[:1, 0]}


def gradcam_model(gradients, activations):
    """``06_gradcam_map``, check 'Grad-CAM of a small CNN, class 2'."""
    return {
        "leaving out the ReLU": (
            gradients.mean((2, 3))[:, :, None, None] * activations.detach()
        ).sum(1),
        "summing the gradients over the positions instead of averaging them": torch.relu(
            (gradients.sum((2, 3))[:, :, None, None] * activations.detach()).sum(1)
        ),
    }


def ig_linear(w):
    """``06_integrated_gradients``, check 'linear f, 3 steps'."""
    return {"the mean gradient without the (x - baseline) factor": w.expand(2, 3)}


def ig_linear_2(w):
    """``06_integrated_gradients``, check 'linear f, a non-zero baseline'."""
    return {"the mean gradient without the (x - baseline) factor": w.expand(2, 3)}


def ig_network(x, baseline, f):
    """``06_integrated_gradients``, check 'tanh network, 16 steps'."""
    return {
        "a left Riemann sum (alpha = i / steps) instead of the midpoints": (x - baseline)
        * torch.stack(
            [
                torch.func.grad(lambda z: f(z).sum())(baseline + i / 16 * (x - baseline))
                for i in range(16)
            ]
        ).mean(0),
        "the mean gradient without the (x - baseline) factor": torch.stack(
            [
                torch.func.grad(lambda z: f(z).sum())(baseline + (i + 0.5) / 16 * (x - baseline))
                for i in range(16)
            ]
        ).mean(0),
    }


def ig_network_2(x, baseline):
    """``06_integrated_gradients``, check 'hidden: squares, 1 step'."""
    return {
        "a left Riemann sum (alpha = i / steps) instead of the midpoints": (x - baseline)
        * 2
        * baseline,
        "the mean gradient without the (x - baseline) factor": x + baseline,
    }


# ------------------------------------------------------------------ lesson 07: attention at scale


def _tiled(
    q,
    k,
    v,
    causal=False,
    block_q=64,
    block_k=64,
    *,
    scaled=True,
    rescale_sum=True,
    rescale_values=True,
    divide_inside=False,
    subtract_max=True,
    tile_positions=False,
):
    """Tiled attention with one thing changed (``07_tiled_attention``): each flag switched off
    (or on) is one common mistake. Self-contained: the exercise's references are disabled while
    the grader records these values."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scaled else 1.0
    n_q, n_k = q.shape[-2], k.shape[-2]
    blocks = []
    for i in range(0, n_q, block_q):
        qi = q[..., i : i + block_q, :] * scale  # (..., bq, d)
        rows = qi.shape[-2]
        m = torch.full((*qi.shape[:-1], 1), -math.inf, dtype=q.dtype)  # (..., bq, 1)
        total = torch.zeros_like(m)  # (..., bq, 1)
        acc = torch.zeros(*qi.shape[:-1], v.shape[-1], dtype=q.dtype)  # (..., bq, d_v)
        for j in range(0, n_k, block_k):
            s = qi @ k[..., j : j + block_k, :].transpose(-2, -1)  # (..., bq, bk)
            if causal:
                first_q, first_k = (0, 0) if tile_positions else (i, j)
                later = (
                    torch.arange(first_k, first_k + s.shape[-1])
                    > torch.arange(first_q, first_q + rows)[:, None]
                )  # (bq, bk)
                s = s.masked_fill(later, -math.inf)
            if subtract_max:
                m_new = torch.maximum(m, s.amax(-1, keepdim=True))  # (..., bq, 1)
                factor = torch.exp(m - m_new)  # (..., bq, 1)
            else:
                m_new, factor = torch.zeros_like(m), torch.ones_like(m)
            p = torch.exp(s - m_new)  # (..., bq, bk)
            total = (total * factor if rescale_sum else total) + p.sum(-1, keepdim=True)
            acc = (acc * factor if rescale_values else acc) + p @ v[..., j : j + block_k, :]
            if divide_inside:
                acc = acc / total
            m = m_new
        blocks.append(acc if divide_inside else acc / total)  # (..., bq, d_v)
    return torch.cat(blocks, dim=-2)  # (..., n_q, d_v)


def _tiled_mistakes(q, k, v, block_q, block_k, causal=False):
    """The value-changing mistakes of ``07_tiled_attention`` for one call."""

    def tiled(**changed):
        return _tiled(q, k, v, causal, block_q, block_k, **changed)

    return {
        "forgetting to rescale the running sums by exp(m_old - m_new) when the maximum grows": tiled(
            rescale_sum=False, rescale_values=False
        ),
        "rescaling the running normaliser but not the running sum of values when the maximum "
        "grows": tiled(rescale_values=False),
        "rescaling the running sum of values but not the normaliser when the maximum grows": tiled(
            rescale_sum=False
        ),
        "leaving out the 1/sqrt(d) scaling": tiled(scaled=False),
        "dividing by the running normaliser inside the loop (earlier tiles are divided again "
        "and again)": tiled(divide_inside=True),
    }


def tiled_values(q, k, v):
    """``07_tiled_attention``, check '10 queries, 10 keys, blocks of 4'."""
    return _tiled_mistakes(q, k, v, 4, 4)


def tiled_values_2(q, k, v):
    """``07_tiled_attention``, check 'batch and heads, 7 queries, 9 keys, blocks of 3 and 4'."""
    return _tiled_mistakes(q, k, v, 3, 4)


def tiled_values_3(q, k, v):
    """``07_tiled_attention``, check 'large scores give no inf or nan'."""
    return {
        "exponentiating the scores without subtracting the running maximum (exp overflows)": _tiled(
            q, k, v, False, 8, 8, subtract_max=False
        ),
        **{  # with scores this large the softmax is one-hot: scaling mistakes do not show
            label: value
            for label, value in _tiled_mistakes(q, k, v, 8, 8).items()
            if "rescal" in label
        },
    }


def tiled_values_4(q, k, v):
    """``07_tiled_attention``, check 'hidden: 50 queries, 37 keys, blocks of 16 and 8'."""
    return _tiled_mistakes(q, k, v, 16, 8)


def tiled_memory(q, k, v):
    """``07_tiled_attention``, check '512 tokens, blocks of 64'."""
    return _tiled_mistakes(q, k, v, 64, 64)


def tiled_memory_2():
    """``07_tiled_attention``, check 'no (512, 512) matrix: peak memory below 512 * 512 floats'
    (and its hidden twin)."""
    return {"computing the whole (n_q, n_k) matrix of scores (or a whole row of it) at once": False}


def tiled_causal(q, k, v):
    """``07_tiled_attention``, check 'causal, 11 tokens, blocks of 4 and 3'."""
    return {
        "ignoring causal=True (every query sees every key)": _tiled(q, k, v, False, 4, 3),
        "masking with the positions inside the tile instead of the absolute positions of the "
        "queries and keys": _tiled(q, k, v, True, 4, 3, tile_positions=True),
        **_tiled_mistakes(q, k, v, 4, 3, causal=True),
    }


def tiled_causal_2(q, k, v):
    """``07_tiled_attention``, check 'hidden: causal, 20 tokens, blocks of 8 and 5'."""
    return {
        "ignoring causal=True (every query sees every key)": _tiled(q, k, v, False, 8, 5),
        "masking with the positions inside the tile instead of the absolute positions of the "
        "queries and keys": _tiled(q, k, v, True, 8, 5, tile_positions=True),
    }


def _linear(q, k, v, eps=1e-6, *, phi=True, causal=True, normalise=True, sees_itself=True):
    """Causal linear attention with one thing changed (``07_linear_attention_recurrent``),
    computed in the parallel form: the (n, n) kernel weights, masked."""
    fq, fk = (F.elu(q) + 1, F.elu(k) + 1) if phi else (q, k)  # (..., n, d)
    a = fq @ fk.transpose(-2, -1)  # (..., n, n)
    if causal:
        a = a.tril(0 if sees_itself else -1)
    return a @ v / (a.sum(-1, keepdim=True) + eps) if normalise else a @ v  # (..., n, d_v)


def _linear_mistakes(q, k, v):
    return {
        "the whole sequence's S and z for every query (not causal: query t sees later keys)": _linear(
            q, k, v, causal=False
        ),
        "phi(x) = x instead of elu(x) + 1": _linear(q, k, v, phi=False),
        "leaving out the normaliser phi(q_t) . z_t": _linear(q, k, v, normalise=False),
        "reading the state before adding token t (query t must see key t)": _linear(
            q, k, v, sees_itself=False
        ),
    }


def linear_rec_values(q, k, v):
    """``07_linear_attention_recurrent``, check 'query 0 sees key 0 only: its output is v_0'."""
    return {  # phi(x) = x gives v_0 here too: one key is weighted 1 whatever phi is
        label: value[0]
        for label, value in _linear_mistakes(q, k, v).items()
        if "phi(x)" not in label
    }


def linear_rec_values_2(q, k, v):
    """``07_linear_attention_recurrent``, checks '6 steps equal the masked parallel form' and
    'hidden: 13 steps, d = 5, d_v = 7'."""
    return _linear_mistakes(q, k, v)


def linear_rec_batched(q, k, v):
    """``07_linear_attention_recurrent``, check 'batch 2, 3 heads, 9 steps, d_v = 5' (and the
    hidden ones)."""
    return _linear_mistakes(q, k, v)


def linear_rec_streaming(q, k, v, changed):
    """``07_linear_attention_recurrent``, check 'outputs 0..5 ignore tokens 6 and 7'."""
    before = _linear(q, k, v, causal=False)[..., :6, :]
    after = _linear(changed[0], changed[1], changed[2], causal=False)[..., :6, :]
    return {
        "the whole sequence's S and z for every query (not causal: query t sees later keys)": after
        - before
    }


def linear_rec_streaming_2():
    """``07_linear_attention_recurrent``, check 'no (512, 512) matrix: peak memory below
    512 * 512 floats'."""
    return {
        "the parallel form, the (n, n) matrix phi(Q) phi(K)^T masked, instead of the "
        "recurrence": False
    }


def _switch(probs, index, *, f_from_probs=False, factor=True, sums=False):
    """Switch's load-balancing loss with one thing changed (``07_load_balancing_loss``)."""
    tokens, n_experts = probs.shape
    p = probs.sum(0) if sums else probs.mean(0)  # (E,)
    f = (
        probs.mean(0)
        if f_from_probs
        else torch.bincount(index, minlength=n_experts).to(probs.dtype) / tokens
    )  # (E,)
    return (n_experts if factor else 1) * (f * p).sum()


def _switch_mistakes(probs, index):
    return {
        "the router probabilities for f_i too (f_i = P_i): not Switch's loss": _switch(
            probs, index, f_from_probs=True
        ),
        "leaving out the factor E (or averaging over the experts instead of summing)": _switch(
            probs, index, factor=False
        ),
        "summing over the tokens instead of averaging (token counts for f_i, or the sum of the "
        "probabilities for P_i)": _switch(probs, index, sums=True),
    }


def lb_balanced_collapsed(probs, index):
    """``07_load_balancing_loss``, check 'perfectly balanced routing gives 1'."""
    return {  # here f = P: using the probabilities for f gives the right value
        label: value
        for label, value in _switch_mistakes(probs, index).items()
        if "f_i = P_i" not in label
    }


def lb_balanced_collapsed_2(probs, index):
    """``07_load_balancing_loss``, check 'all tokens on one expert the router is sure of gives
    E = 4'."""
    return lb_balanced_collapsed(probs, index)


def lb_balanced_collapsed_3(probs, index):
    """``07_load_balancing_loss``, check 'hidden: 50 tokens, 8 experts'."""
    return _switch_mistakes(probs.detach(), index)


def lb_hand_computed(probs, index):
    """``07_load_balancing_loss``, checks '4 tokens, 3 experts, by hand' and 'hidden: 33 tokens,
    5 experts'."""
    return {label: value.detach() for label, value in _switch_mistakes(probs, index).items()}


def lb_hand_computed_2(probs, index):
    """``07_load_balancing_loss``, check 'its gradient w.r.t. router_probs'."""
    tokens, n_experts = probs.shape
    f = torch.bincount(index, minlength=n_experts).to(probs.dtype) / tokens  # (E,)
    p = probs.detach().mean(0)  # (E,)
    return {
        "the router probabilities for f_i too (f_i = P_i): not Switch's loss": (
            2 * n_experts * p / tokens
        ).expand(tokens, n_experts),
        "leaving out the factor E (or averaging over the experts instead of summing)": (
            f / tokens
        ).expand(tokens, n_experts),
        "summing over the tokens instead of averaging (token counts for f_i, or the sum of the "
        "probabilities for P_i)": (n_experts * f).expand(tokens, n_experts),
        "a loss that does not reach router_probs (detached, or computed outside autograd)": torch.zeros(
            tokens, n_experts
        ),
    }


def lb_mean_not_sum(probs, index):
    """``07_load_balancing_loss``, checks 'the same 4 tokens twice give the same loss' and
    'hidden: 200 tokens, 16 experts'."""
    return _switch_mistakes(probs, index)


# ------------------------------------------------------- predict-first exercises (NN_predict_*)
# A wrong prediction named by the reasoning that leads to it, and why that reasoning fails.
# Options of a choice are letters; numbers are compared with the check's own tolerance.


def predict_sqrt_d_std():
    """``01_predict_sqrt_d``, check 'std_unscaled within 10 % of the measured value'."""
    return {
        "taking the variance d for the standard deviation (q·k has variance d = 2048; its "
        "standard deviation is sqrt(d))": 2048.0,
        "answering for the scaled score q·k / sqrt(d), whose standard deviation is 1 at every "
        "d (the question is about q·k itself)": 1.0,
    }


def predict_sqrt_d_max_weight():
    """``01_predict_sqrt_d``, check 'max_weight_scaled within 10 % of the measured value'."""
    return {
        "expecting the unscaled rows' near one-hot weights (dividing by sqrt(d) keeps the "
        "scores at standard deviation 1 whatever d is)": 0.97,
        "expecting uniform weights 1/16 (scores of standard deviation 1 still differ from key "
        "to key)": 1 / 16,
    }


def predict_sqrt_d_unscaled():
    """``01_predict_sqrt_d``, check 'max_weight_unscaled is the option the measurement supports'."""
    return {
        "thinking large scores spread the weight (larger score gaps make the softmax sharper, "
        "like a low temperature)": "A",
        "thinking the softmax ignores the scale of the scores (without 1/sqrt(d) they have "
        "standard deviation 45 at d = 2048)": "B",
    }


def predict_local_ratio_8192():
    """``02_predict_local_attention_cost``, check 'ratio_8192 within 10 % ...'."""
    return {
        "counting w = 4 keys per token (the window reaches w tokens on each side, plus the "
        "token itself: 2w + 1 = 9)": 8192 / 4,
        "comparing n^2 with n scores (each banded token scores 2w + 1 = 9 keys, not one)": 8192.0,
    }


def predict_local_ratio_window16():
    """``02_predict_local_attention_cost``, check 'ratio_window16 within 10 % ...'."""
    return {
        "counting w = 16 keys per token (the window reaches w on each side, plus the token "
        "itself: 2w + 1 = 33)": 2048 / 16,
        "comparing n^2 with n scores (each banded token scores 2w + 1 = 33 keys)": 2048.0,
    }


def predict_local_dense_time():
    """``02_predict_local_attention_cost``, check 'dense_time is the option ...'."""
    return {
        "thinking a mask saves work (it changes which of the n^2 scores count, not how many are "
        "computed)": "A",
        "thinking the mask is the expensive part (it is one pass over the n^2 scores, like the "
        "softmax)": "C",
    }


def predict_naive_memory():
    """``03_predict_attention_memory``, check 'naive_mib_4096 within 10 % ...'."""
    return {
        "doubling it, as if memory grew like n (the (n, n) scores and weights grow like n^2)": 68.0,
        "keeping it unchanged (the (n, n) matrices grow with n)": 34.0,
    }


def predict_sdpa_memory():
    """``03_predict_attention_memory``, check 'sdpa_mib_4096 within 10 % ...'."""
    return {
        "quadrupling it like naive attention (the fused kernel never stores an (n, n) matrix; "
        "what it keeps grows like n)": 2.0,
        "keeping it unchanged (the (n, d) output it writes grows with n)": 0.5,
    }


def predict_local_time():
    """``03_predict_attention_memory``, check 'local_time is the option ...'."""
    return {
        "thinking the window makes the cost constant (twice the tokens, each scoring the same "
        "33 keys, is twice the work)": "A",
        "treating local attention like global (each token scores a fixed window, so the work "
        "grows like n, not n^2)": "C",
    }


def predict_vit_tokens():
    """``04_predict_vit_tokens``, check 'tokens_7 is the exact count'."""
    return {
        "forgetting the [CLS] token (16 patches plus the class token)": 16.0,
        "counting the 49 pixels of a 7x7 patch (that is the length of each token; the number "
        "of patches is (28 / 7)^2)": 49.0,
    }


def predict_vit_weights():
    """``04_predict_vit_tokens``, check 'weights_7 is the exact count'."""
    return {
        "forgetting the [CLS] token (it is a query and a key too: 17 x 17)": 256.0,
        "counting one weight per token (attention has one per query-key pair)": 17.0,
    }


def predict_vit_growth():
    """``04_predict_vit_tokens``, check 'growth_2 is the option ...'."""
    return {
        "thinking halving the patch side doubles the patches (it quadruples them: both sides "
        "halve), and forgetting that weights count pairs": "A",
        "counting tokens instead of pairs (4x the tokens is about 16x the query-key pairs)": "B",
    }


def predict_mirror_baseline():
    """``05_predict_baseline_variance``, check 'mirror_b is the option ...'."""
    return {
        "thinking any baseline helps (what matters is the distance of b from E[R]; 4.6 is as "
        "far from 2.31 as no baseline)": "A",
        "thinking a baseline above E[R] is worse than none (at the same distance from E[R] the "
        "variance is about the same)": "C",
    }


def predict_baseline_bias():
    """``05_predict_baseline_variance``, check 'bias_b7 is the option ...'."""
    return {
        "thinking a large baseline shrinks the gradient (E[b grad log pi] = b grad sum pi = 0: "
        "a constant baseline changes only the spread)": "B",
        "thinking a baseline above every reward reverses the direction (the extra term has mean "
        "0 for any constant b; only the variance grows)": "C",
    }


def predict_deletion_fastest():
    """``06_predict_deletion_test``, check 'fastest is the option ...'."""
    return {
        "trusting one layer's attention (the last layer reads tokens already mixed by three "
        "layers and ignores the residual path: area 0.63, against 0.34)": "A",
        "picking rollout, which comes close (area 0.38) but does not ask the model how its "
        "score changes, as integrated gradients do (0.34)": "B",
        "picking the plain gradient (it is local: how the score moves for a tiny change, not "
        "for hiding a patch; area 0.70, near random)": "D",
        "picking random (it is the floor every real ranking must beat; area 0.76)": "E",
    }


def predict_deletion_reversed():
    """``06_predict_deletion_test``, check 'reversed_ig is the option ...'."""
    return {
        "thinking any ranking from the model beats random (reversed, it hides the least "
        "important patches first, so the prediction survives longer)": "A",
        "thinking the order does not matter (the least important patches are mostly "
        "background: hiding them changes little, so the area is higher than random's)": "B",
    }


def predict_deletion_all_hidden():
    """``06_predict_deletion_test``, check 'all_hidden is the option ...'."""
    return {
        "forgetting that hiding all 49 patches leaves the same black image whatever the order": "A",
    }


def predict_naive_memory_16384():
    """``07_predict_memory_and_recall``, check 'naive_mib_16384 within 10 % ...'."""
    return {
        "counting one (n, n) matrix (the scores and the softmax weights are alive at once: "
        "two)": 1024.0,
        "counting 8 bytes per number (float32 takes 4)": 4096.0,
    }


def predict_tiled_memory():
    """``07_predict_memory_and_recall``, check 'tiled_32768 is the option ...'."""
    return {
        "treating tiled attention like naive attention (it never holds an (n, n) matrix: one "
        "tile at a time)": "A",
        "thinking tiled memory is constant (the (n, d) inputs and output grow with n)": "C",
    }


def predict_recall_shape():
    """``07_predict_memory_and_recall``, check 'recall_d32 is the option ...'."""
    return {
        "thinking a sum of outer products stores every pair (reading it with k_i adds the "
        "crosstalk of all other pairs, which swamps the answer once N is well above d)": "A",
        "thinking crosstalk hurts from the start (random keys in d = 32 dimensions are nearly "
        "orthogonal while N is below about d)": "C",
    }
