"""UniMD: backbone → neck → query-conditioned heads, for TAD and MR at once (spec §3). Composition only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unimd_lib.config.model import ModelConfig
from unimd_lib.data.batch import Batch, TaskBatch
from unimd_lib.errors import ConfigError
from unimd_lib.model import inference
from unimd_lib.model.backbone import ConvNeXtBackbone
from unimd_lib.model.cls_head import QueryClassificationHead
from unimd_lib.model.criterion import batch_targets, task_loss_sums
from unimd_lib.model.layers import Dropout, DropPath
from unimd_lib.model.levels import PackedLevels
from unimd_lib.model.losses import LossNormalizer
from unimd_lib.model.neck import BiFPNNeck
from unimd_lib.model.points import PointGenerator
from unimd_lib.model.reg_head import QueryRegressionHead
from unimd_lib.post.decode import Segments
from unimd_lib.post.nms import FlatKept

TASKS = ("tad", "mr")


@dataclass
class TaskOutput:
    """Head outputs of one task, all levels concatenated: ``flat_logits`` [Bt, K, P], ``flat_offsets``
    [Bt, K, 2, P] (left/right in strides), P = Σ T_l; per level: ``cls_logits[l]`` / ``offsets[l]`` (views).

    Row i belongs to video ``video_index[i]`` of the batch; ``query_mask`` [Bt, K] marks real queries (MR
    queries are zero-padded to the largest K of the batch; outputs of padded queries are meaningless).
    """

    video_index: torch.Tensor
    query_mask: torch.Tensor
    flat_logits: torch.Tensor
    flat_offsets: torch.Tensor
    lengths: tuple[int, ...]

    @property
    def cls_logits(self) -> list[torch.Tensor]:
        return list(self.flat_logits.split(self.lengths, dim=-1))

    @property
    def offsets(self) -> list[torch.Tensor]:
        return list(self.flat_offsets.split(self.lengths, dim=-1))


@dataclass
class ModelOutput:
    """``feats[l]`` [B, E, T_l] neck outputs, ``masks[l]`` [B, T_l] bool, ``points[l]`` [T_l, 4]."""

    feats: list[torch.Tensor]
    masks: list[torch.Tensor]
    points: list[torch.Tensor]
    tad: TaskOutput | None = None
    mr: TaskOutput | None = None


class UniMD(nn.Module):
    """The UniMD detector. ``forward`` → ``ModelOutput``; ``loss`` → loss dict; ``predict`` → detections."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        q = cfg.quirks
        self.backbone = ConvNeXtBackbone(
            cfg.input_dim,
            cfg.embd_dim,
            arch=cfg.backbone_arch,
            kernel_size=cfg.embd_kernel_size,
            depths=cfg.convnext_depths,
            with_ln=cfg.embd_with_ln,
        )
        self.neck = BiFPNNeck(cfg.fpn_dim, cfg.fpn_kernel_size, cfg.fpn_layer, q.bn_stats_include_padding)
        self.points = PointGenerator(cfg.max_seq_len, cfg.fpn_strides, cfg.regression_range, cfg.max_buffer_len_factor)
        prior = None if q.ignore_cls_prior_prob else cfg.train_cfg.cls_prior_prob
        self.cls_head = QueryClassificationHead(cfg.head_dim, cfg.head_kernel_size, prior_prob=prior)
        self.reg_head = QueryRegressionHead(
            cfg.head_dim,
            cfg.num_levels,
            cfg.head_kernel_size,
            query_dim=cfg.query_dim,
            query_hidden=cfg.query_fc_channels,
            relu_kernels=q.relu_on_generated_kernels,
        )
        self.loss_normalizer = LossNormalizer(cfg.train_cfg.init_loss_norm, shared=q.shared_loss_normalizer)
        self.set_stochastic_rates(cfg.drop_path_rate, cfg.query_dropout)

    def set_stochastic_rates(self, drop_path_rate: float, query_dropout: float) -> None:
        """Drop-path rates linspace(0, ``drop_path_rate``) over the backbone stage blocks, and the dropout of the
        query MLP (0 and 0 make training deterministic, e.g. to compare data-parallel with one process)."""
        paths = [m for m in self.backbone.stages.modules() if isinstance(m, DropPath)]
        for m, rate in zip(paths, torch.linspace(0, drop_path_rate, len(paths)).tolist()):
            m.drop_prob = float(rate)
        for m in self.reg_head.modules():
            if isinstance(m, Dropout):
                m.p = float(query_dropout)

    # ------------------------------------------------------------------ forward
    def forward(self, batch: Batch) -> ModelOutput:
        x = batch.feats
        if x.shape[1] != self.cfg.input_dim:
            raise ConfigError(
                None, "model.input_dim", f"the model expects {self.cfg.input_dim} feature channels, got {x.shape[1]}"
            )
        if x.shape[-1] % self.cfg.max_div_factor != 0:
            raise ValueError(f"padded length {x.shape[-1]} is not a multiple of {self.cfg.max_div_factor}")
        mask = batch.mask[:, None, :].to(x.dtype)
        feats, masks = self.backbone(x, mask)
        feats = self.neck(feats, masks)
        out = ModelOutput(feats, [m[:, 0].bool() for m in masks], self.points([f.shape[-1] for f in feats]))
        if batch.tad is None and batch.mr is None:
            return out
        # the heads run once over all levels packed end to end (``model.levels``)
        packed = PackedLevels([f.shape[-1] for f in feats], x.device, x.dtype)
        h = packed.pack(feats)
        m = packed.pack(masks)
        heads = (self.cls_head.features(h, m, packed.sep), self.reg_head.features(h, m, packed.sep), m, packed)
        # TAD first, then MR: the order the original draws its dropout masks in
        if batch.tad is not None:
            out.tad = self._task_heads(batch.tad, *heads, "tad")
        if batch.mr is not None:
            out.mr = self._task_heads(batch.mr, *heads, "mr")
        return out

    def _task_heads(self, tb: TaskBatch, hc, hr, mask, packed: PackedLevels, task: str) -> TaskOutput:
        q = tb.queries.to(hc.dtype)
        normalize = self.cfg.quirks.normalize_tad_queries if task == "tad" else self.cfg.quirks.normalize_mr_queries
        if normalize:
            q = F.normalize(q, dim=-1)
        vi = tb.video_index.to(hc.device)
        whole = vi.numel() == hc.shape[0] and bool((vi == torch.arange(vi.numel(), device=vi.device)).all())

        def pick(t: torch.Tensor) -> torch.Tensor:
            return t if whole else t.index_select(0, vi)

        # one kernel set for all videos when they share their queries (TAD vocabulary): one MLP pass, one conv
        shared = bool(tb.query_mask.all()) and (q.shape[0] == 1 or bool((q == q[:1]).all()))
        if shared:
            weight, bias = self.reg_head.kernels(q[0])
        else:
            qm = tb.query_mask.to(q.device)
            w_valid, b_valid = self.reg_head.kernels(q[qm])
            weight = w_valid.new_zeros(*qm.shape, *w_valid.shape[1:])
            bias = b_valid.new_zeros(*qm.shape, 2)
            weight = weight.index_put((qm,), w_valid)
            bias = bias.index_put((qm,), b_valid)
        mask = pick(mask)
        scale = self.reg_head.position_scales(packed.level_of)
        logits = self.cls_head.logits(pick(hc), mask, q[0] if shared else q)
        if shared:
            offsets = self.reg_head.shared_offsets(pick(hr), mask, weight, bias, scale)
        else:
            offsets = self.reg_head.per_video_offsets(pick(hr), mask, weight, bias, scale)
        lengths = tuple(packed.lengths)
        return TaskOutput(vi, tb.query_mask.to(vi.device), packed.unpack(logits), packed.unpack(offsets), lengths)

    # ------------------------------------------------------------------ training
    def targets(self, batch: Batch, points: list[torch.Tensor], task: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Assigned targets of ``task``: cls [Bt, P, K] (multi-hot) and reg [Bt, P, K, 2] (strides, +inf = none)."""
        tb: TaskBatch = getattr(batch, task)
        tc = self.cfg.train_cfg
        return batch_targets(
            torch.cat(points),
            tb.segments,
            tb.labels,
            tb.query_mask.sum(dim=1).tolist(),
            tb.query_mask.shape[1],
            center_sample=tc.center_sample,
            radius=tc.center_sample_radius,
            last_gt_wins=self.cfg.quirks.reg_target_last_gt_wins,
        )

    def loss(
        self,
        batch: Batch,
        out: ModelOutput | None = None,
        *,
        present_tasks: set[str] | None = None,
        count_reducer: Callable[[int], int] | None = None,
    ) -> dict:
        """Losses of the tasks in ``batch`` (runs ``forward`` unless ``out`` is given) and normaliser update.

        Returns ``{"tad": {cls_loss, reg_loss, final_loss}, "mr": {...}, "num_pos": {task: int},
        "loss": tad_w·L_TAD + mr_w·L_MR, "loss_normalizer": float}`` (absent tasks are left out).
        TAD is processed (and updates the normaliser) before MR, as in the original (spec §4.4).

        Data-parallel runs pass ``present_tasks`` (the tasks of the *global* batch) and ``count_reducer`` (sums a
        positive count over the processes), so every process updates the normaliser exactly as one process
        holding the whole batch would; a process without a task of the global batch contributes 0 positives.
        """
        out = self(batch) if out is None else out
        reduce = count_reducer or (lambda n: n)
        tc = self.cfg.train_cfg
        valid_all = torch.cat(out.masks, dim=1)
        result: dict = {"num_pos": {}}
        total = None
        for task in TASKS:
            t_out: TaskOutput | None = getattr(out, task)
            if t_out is None:
                if present_tasks is not None and task in present_tasks:
                    self.loss_normalizer.update(task, reduce(0))
                continue
            gt_cls, gt_reg = self.targets(batch, out.points, task)
            logits = t_out.flat_logits.transpose(1, 2)
            offsets = t_out.flat_offsets.permute(0, 3, 1, 2)
            if task == "mr" and not self.cfg.quirks.smoothing_uses_tad_num_classes:
                smoothing_classes = t_out.query_mask.sum(dim=1)
            else:
                smoothing_classes = float(self.cfg.num_classes)
            cls_sum, reg_sum, num_pos = task_loss_sums(
                logits,
                offsets,
                gt_cls,
                gt_reg,
                valid_all.index_select(0, t_out.video_index),
                t_out.query_mask,
                label_smoothing=tc.label_smoothing,
                smoothing_classes=smoothing_classes,
            )
            norm = self.loss_normalizer.update(task, reduce(num_pos))
            cls_loss, reg_loss = cls_sum / norm, reg_sum / norm
            final = cls_loss + reg_loss * tc.loss_weight
            result[task] = {"cls_loss": cls_loss, "reg_loss": reg_loss, "final_loss": final}
            result["num_pos"][task] = num_pos
            weighted = final * (tc.tad_loss_weight if task == "tad" else tc.mr_loss_weight)
            total = weighted if total is None else total + weighted
        result["loss"] = total if total is not None else valid_all.new_zeros(())
        result["loss_normalizer"] = self.loss_normalizer.get()
        return result

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def candidates(self, batch: Batch, out: ModelOutput | None = None) -> list[dict[str, Segments]]:
        """Per video and task: decoded candidates before NMS, grid units (spec §8.1)."""
        out = self(batch) if out is None else out
        return inference.candidates(out, batch, self.cfg.test_cfg)

    @torch.no_grad()
    def detect(self, batch: Batch, backend: str = "auto") -> dict[str, FlatKept]:
        """Per task: detections of every video of the batch, flat (``video`` = position in the batch), segments
        in seconds clamped to [0, duration] (spec §8). Post-processing runs on the array module of ``backend``
        (``"auto"``: CuPy for a model on a CUDA device, numpy on the CPU)."""
        per_video = self.cfg.quirks.max_seg_num_per_video
        return inference.flat_detections(
            self(batch), batch, self.cfg.test_cfg, per_video_cap=per_video, backend=backend
        )

    @torch.no_grad()
    def predict(self, batch: Batch) -> list[dict[str, Segments]]:
        """Per video and task: detections after NMS, segments in seconds clamped to [0, duration] (spec §8).

        Call in ``eval()`` mode. Any batch size works; results equal the original's batch-1 evaluation when
        every video pads to the same length (all ≤ max_seq_len), since padding leaks through the neck (§3.5).
        """
        flat = self.detect(batch)
        return inference.per_video({t: (k.segments, k.scores, k.labels, k.video) for t, k in flat.items()}, batch)
