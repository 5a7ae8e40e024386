"""Multi-label, class-wise label assignment (spec §4.1), vectorised over points × segments.

For point p = (t, lo, hi, s) and segment g = [a, e] with label k:
left = t − a, right = e − t; centre region [max(c − r·s, a), min(c + r·s, e)] with c = (a + e)/2 and r the
radius; p is inside iff t − start > 0 and end − t > 0 (strict); range check lo ≤ max(left, right) ≤ hi.
Positive pair = inside ∧ range. cls[p, k] = 1 iff some positive pair has label k (multi-label);
reg[p, k] = (left, right)/s of the LAST positive segment of label k in annotation order (quirk §11.3), +inf
where none.
"""

from __future__ import annotations

import torch


def assign_targets(
    points: torch.Tensor,
    segments: torch.Tensor,
    labels: torch.Tensor,
    num_queries: int,
    *,
    center_sample: str = "radius",
    radius: float = 1.5,
    last_gt_wins: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """points [P, 4], segments [G, 2] (grid units), labels [G] → cls [P, K] float, reg [P, K, 2] float.

    ``last_gt_wins=False`` uses the shortest positive segment of each label instead (the original's intent;
    on equal lengths the later one).
    """
    num_pts = points.shape[0]
    device = points.device
    cls_t = points.new_zeros(num_pts, num_queries)
    reg_t = points.new_full((num_pts, num_queries, 2), float("inf"))
    if segments.numel() == 0:
        return cls_t, reg_t
    t = points[:, 0, None]
    stride = points[:, 3, None]
    starts, ends = segments[None, :, 0], segments[None, :, 1]
    left = t - starts
    right = ends - t
    if center_sample == "radius":
        center = 0.5 * (starts + ends)
        t_min = center - stride * radius
        t_max = center + stride * radius
        inside = torch.minimum(t - torch.maximum(t_min, starts), torch.minimum(t_max, ends) - t) > 0
    else:
        inside = torch.minimum(left, right) > 0
    max_dist = torch.maximum(left, right)
    positive = inside & (max_dist >= points[:, 1, None]) & (max_dist <= points[:, 2, None])  # [P, G]

    num_gts = segments.shape[0]
    order = torch.arange(num_gts, device=device)
    if not last_gt_wins:
        # rank segments by decreasing length: the last positive one of a label is then the shortest
        order = torch.argsort(torch.argsort(-(segments[:, 1] - segments[:, 0]), stable=True), stable=True)
    rank = torch.where(positive, order[None, :], -1)
    index = labels[None, :].expand(num_pts, num_gts)
    best = torch.full((num_pts, num_queries), -1, dtype=torch.long, device=device)
    best.scatter_reduce_(1, index, rank, reduce="amax")  # rank of the winning segment per (point, label), −1 = none
    hit = best >= 0
    cls_t[hit] = 1.0
    winner = torch.argsort(order)[best.clamp(min=0)]  # rank → segment index
    offsets = torch.stack((left, right), dim=-1) / stride[..., None]  # [P, G, 2]
    chosen = torch.gather(offsets, 1, winner[..., None].expand(-1, -1, 2))
    reg_t[hit] = chosen[hit]
    return cls_t, reg_t
