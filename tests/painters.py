"""Constructed denoisers with known binding behaviour, for the attr_transfer and attr_overlap tests
and as outside denoisers of `compbench score` (`painters:factorized`).

A painter reads each active object token j (mask slot j >= 1): its centre p_j = (x_j, y_j) R in
pixels, its quadrant q_j and its one-hot color c_j, and paints a Gaussian blob of std BLOB_STD px
on the background b (every image in [-1, 1] scale):

    D(x, sigma, tokens, mask) = b + (x - b) / (1 + sigma^2) / 10 + sum_j g_j (k_j - b)

with g_j(q) = exp(-|q - p_j|^2 / (2 BLOB_STD^2)) at pixel centres q and k_j the painted color:
- factorized: k_j = palette[c_j], the same object wherever it is put, so e_c(p) is one window
  for every p and attr_transfer is 0 (exactly, up to rounding: the blob is centred on p);
- memorizer: k_j = palette[m(c_j, q_j)], m(c, q) = c where training shows c in q, else the
  first color seen in q: a held-out combination comes out in another, seen, color;
- a blend with weight t: (1 - t) factorized + t memorizer (attr_transfer grows as t^2);
- color-blind: k_j = the palette's mean, whatever the token says (attr_transfer NaN);
- color from sigma s0: factorized at sigma >= s0, color-blind below.
"""

from __future__ import annotations

import torch

from tasks.color_region import N_QUADRANTS
from tasks.render import BACKGROUND, PALETTE
from tasks.scene import COLOR_NAMES

BLOB_STD = 1.2  # px


class Painter:
    """A differentiable, parameter-free denoiser that paints one blob per object token."""

    def __init__(self, task, *, memorize: float = 0.0, color_blind: bool = False,
                 color_from_sigma: float | None = None):
        self.R = task.resolution
        self.background = torch.from_numpy(BACKGROUND).view(3, 1, 1) * 2 - 1  # (3, 1, 1)
        palette = torch.from_numpy(PALETTE) * 2 - 1  # (C, 3)
        # m(c, q): the painted color index of color c in quadrant q.
        remap = [[c if task.combination_seen(name, q) else
                  next(i for i, n in enumerate(COLOR_NAMES) if task.combination_seen(n, q))
                  for q in range(N_QUADRANTS)] for c, name in enumerate(COLOR_NAMES)]
        self.memorized = palette[torch.tensor(remap)]  # (C, 4, 3)
        self.palette = palette.unsqueeze(1).expand(-1, N_QUADRANTS, -1)  # (C, 4, 3)
        self.memorize, self.color_blind = memorize, color_blind
        self.color_from_sigma = color_from_sigma

    def paint(self, onehot: torch.Tensor, q: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """The painted color k_j (B, 3) of tokens with one-hot colors (B, C), quadrants (B,)."""
        table = (1 - self.memorize) * self.palette + self.memorize * self.memorized  # (C, 4, 3)
        chosen = torch.einsum("bc,cbk->bk", onehot, table[:, q])  # (B, 3)
        blind = self.palette[:, 0].mean(0).expand_as(chosen)  # (B, 3)
        if self.color_blind:
            return blind
        if self.color_from_sigma is not None:
            sees = (sigma >= self.color_from_sigma).to(chosen.dtype)[:, None]  # (B, 1)
            return sees * chosen + (1 - sees) * blind
        return chosen

    def __call__(self, x, sigma, tokens, mask):
        b = self.background.to(x)  # (3, 1, 1)
        out = b + (x - b) / (1 + sigma.view(-1, 1, 1, 1) ** 2) / 10  # (B, 3, R, R)
        centres = (torch.arange(self.R, dtype=x.dtype) + 0.5)  # (R,) pixel centres
        for j in range(1, tokens.shape[1]):
            xy = tokens[:, j, :2]  # (B, 2)
            q = 2 * (xy[:, 1] >= 0.5).long() + (xy[:, 0] >= 0.5).long()  # (B,)
            px, py = xy[:, 0] * self.R, xy[:, 1] * self.R  # (B,)
            d2 = (centres[None, None, :] - px[:, None, None]) ** 2 + \
                (centres[None, :, None] - py[:, None, None]) ** 2  # (B, R, R)
            blob = torch.exp(-d2 / (2 * BLOB_STD**2)).unsqueeze(1)  # (B, 1, R, R)
            k = self.paint(tokens[:, j, 2:], q, sigma)[:, :, None, None]  # (B, 3, 1, 1)
            out = out + mask[:, j].to(x.dtype).view(-1, 1, 1, 1) * blob * (k - b)
        return out


def factorized(task):
    """`compbench score` factory: the factorized painter."""
    return Painter(task)


def memorizer(task):
    """`compbench score` factory: the memorizer."""
    return Painter(task, memorize=1.0)
