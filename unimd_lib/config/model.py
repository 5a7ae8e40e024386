"""The model section of a UniMD config: architecture, the loss/assignment part of ``train_cfg`` and ``test_cfg``.

Keys keep the ORIGINAL names (``libs/core/config.py`` of UniMD, itself ActionFormer's) so an original YAML's
``model``, ``train_cfg`` and ``test_cfg`` sections load as they are. Defaults:

* architecture keys: the values shared by all four released configs (their model sections are identical,
  spec §2); ``input_dim``, ``num_classes`` and ``max_seq_len`` have no default because the original derives
  them from the ``dataset`` section;
* ``train_cfg`` / ``test_cfg``: the original defaults (ActionFormer's, the fork base; spec §2 confirms the
  ones the configs do not override). Every released config overrides several of them (e.g. init_loss_norm
  100, clip_grad_l2norm 1.0, min_score 0.001, max_seg_num 200/2000/100).

Keys the original accepts but never reads on this model path (spec §11, refcases README §7 item 18) are
accepted and ignored, so original YAML files load: listed in ``IGNORED_*`` below.

``quirks`` is ours (not an original key): behaviour of the original that changes numbers, each a named switch
whose default reproduces the original (spec §11 items 1-6, 8, 9).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from unimd_lib.config.sections import typed_fields
from unimd_lib.errors import ConfigError

DEFAULT_REGRESSION_RANGE: tuple[tuple[float, float], ...] = ((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 10000))

IGNORED_MODEL_KEYS = ("n_head", "n_conv_group", "use_abs_pe", "use_rel_pe", "fpn_with_ln", "task")
IGNORED_TRAIN_KEYS = ("cls_prior_prob", "head_empty_cls", "dropout", "droppath", "reg_loss_weight", "cls_loss_weight")


@dataclass
class QuirksConfig:
    """Switches for the original's number-changing quirks. The defaults (all of them) reproduce the original
    and hence its published numbers; the parity reference cases run with them. Tests: tests/model/test_quirks.py.

    * ``ignore_cls_prior_prob`` (§11.1, §3.7): the dot head starts with bias b = 0 (scores ≈ 0.5) instead of
      the RetinaNet prior ``-log((1 - p) / p)`` with p = ``train_cfg.cls_prior_prob``.
    * ``relu_on_generated_kernels`` (§11.2, §3.8): ReLU after the last query-MLP layer, so every generated
      regression kernel weight and bias is non-negative.
    * ``reg_target_last_gt_wins`` (§11.3, §4.1): among several positive same-label segments at a point the
      LAST in annotation order sets the regression target; False = the shortest (the code's intent).
    * ``shared_loss_normalizer`` (§11.4, §4.4): one EMA normaliser updated by TAD then by MR in every
      iteration; False = one normaliser per task, each updated only by its own task.
    * ``smoothing_uses_tad_num_classes`` (§11.5, §4.2): label smoothing ``eps / (num_classes + 1)`` uses the
      TAD class count also for MR; False = the video's number of queries.
    * ``normalize_mr_queries`` / ``normalize_tad_queries`` (§11.6, §6): L2-normalise query embeddings inside
      the model. The original uses MR embeddings as stored and the TAD rows as loaded (normalised, except the
      ANet averaged vector), i.e. both False.
    * ``max_seg_num_per_video`` (§11.8, §8.2): ``max_seg_num`` caps the detections of a whole video (for MR:
      shared by all its queries); False = the cap applies to each query / class separately.
    * ``bn_stats_include_padding`` (§11.9, §3.5): the neck's first-layer BatchNorms take statistics over padded
      positions too and their output is not re-masked; False = statistics over valid positions, output masked.
      (The other half of §11.9, EMA over BN buffers, is ``train.optim.ModelEma(average_buffers=...)``.)
    """

    ignore_cls_prior_prob: bool = True
    relu_on_generated_kernels: bool = True
    reg_target_last_gt_wins: bool = True
    shared_loss_normalizer: bool = True
    smoothing_uses_tad_num_classes: bool = True
    normalize_mr_queries: bool = False
    normalize_tad_queries: bool = False
    max_seg_num_per_video: bool = True
    bn_stats_include_padding: bool = True


@dataclass
class TrainLossConfig:
    """Label assignment and loss keys of ``train_cfg`` (original names)."""

    init_loss_norm: float = 2000.0
    center_sample: str = "radius"
    center_sample_radius: float = 1.5
    loss_weight: float = 1.0
    label_smoothing: float = 0.0
    tad_loss_weight: float = 3.0
    mr_loss_weight: float = 1.0
    clip_grad_l2norm: float = -1.0
    # used only when quirks.ignore_cls_prior_prob is False
    cls_prior_prob: float = 0.01

    def validate(self, path: str | PathLike | None = None) -> None:
        if self.center_sample not in ("radius", "none"):
            raise ConfigError(
                path, "train_cfg.center_sample", f"expected 'radius' or 'none', got {self.center_sample!r}"
            )
        if self.loss_weight <= 0:
            raise ConfigError(
                path, "train_cfg.loss_weight", "must be > 0 (the original's auto-balance is not supported)"
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(path, "train_cfg.label_smoothing", "must be in [0, 1)")
        if self.init_loss_norm <= 0:
            raise ConfigError(path, "train_cfg.init_loss_norm", "must be > 0")


@dataclass
class TestConfig:
    """``test_cfg`` (original names and defaults). ``iou_threshold`` and ``voting_thresh`` have no effect with
    the Gaussian multiclass soft-NMS of every released config (spec §8.2); they are passed through."""

    pre_nms_thresh: float = 0.001
    pre_nms_topk: int = 5000
    iou_threshold: float = 0.1
    min_score: float = 0.01
    max_seg_num: int = 1000
    nms_method: str = "soft"
    nms_sigma: float = 0.5
    multiclass_nms: bool = True
    voting_thresh: float = 0.75
    duration_thresh: float = 0.05
    ext_score_file: str | None = None

    def validate(self, path: str | PathLike | None = None) -> None:
        if self.nms_method not in ("soft", "hard", "none"):
            raise ConfigError(path, "test_cfg.nms_method", f"expected soft|hard|none, got {self.nms_method!r}")
        for key in ("pre_nms_topk", "max_seg_num"):
            if int(getattr(self, key)) <= 0:
                raise ConfigError(path, f"test_cfg.{key}", "must be a positive integer")


@dataclass
class ModelConfig:
    """``model`` section. Only the UniMD variant of the released configs is implemented (see ``validate``)."""

    input_dim: int
    num_classes: int
    max_seq_len: int
    backbone_type: str = "convnext_stage"
    backbone_arch: tuple[int, int, int] = (2, 2, 5)
    scale_factor: int = 2
    regression_range: tuple[tuple[float, float], ...] = DEFAULT_REGRESSION_RANGE
    embd_kernel_size: int = 3
    embd_dim: int = 512
    embd_with_ln: bool = True
    fpn_type: str = "bifpn_convnext"
    fpn_dim: int = 512
    fpn_start_level: int = 0
    fpn_layer: int = 3
    fpn_kernel_size: int = 7
    convnext_depths: tuple[int, ...] = (1, 1, 1, 1, 1)
    head_dim: int = 512
    head_kernel_size: int = 3
    head_num_layers: int = 3
    head_with_ln: bool = True
    max_buffer_len_factor: float = 6.0
    n_mha_win_size: int = -1
    cls_head_type: str = "dot"
    cls_head_fn: str = "scale"
    reg_head_type: str = "one_head_multi"
    # query (text-embedding) width; hard-coded to 512 in the original (meta_archs.py:539,551)
    query_dim: int = 512
    # hidden width of the kernel-generating query MLP; the original's query_fc_chanel (meta_archs.py:226)
    query_fc_channels: int = 512
    # stochastic layers, hard-coded in the original (its train_cfg dropout / droppath keys have no effect):
    # drop-path linspace(0, drop_path_rate) over the backbone stages, dropout before each query-MLP Linear
    drop_path_rate: float = 0.4
    query_dropout: float = 0.1
    train_cfg: TrainLossConfig = field(default_factory=TrainLossConfig)
    test_cfg: TestConfig = field(default_factory=TestConfig)
    quirks: QuirksConfig = field(default_factory=QuirksConfig)

    @property
    def num_levels(self) -> int:
        return self.backbone_arch[-1] + 1

    @property
    def fpn_strides(self) -> tuple[int, ...]:
        return tuple(self.scale_factor**i for i in range(self.num_levels))

    @property
    def max_div_factor(self) -> int:
        # no attention window in this model: the largest stride (meta_archs.py:264-271)
        return self.fpn_strides[-1]

    @classmethod
    def from_dict(
        cls,
        model: dict[str, Any],
        train_cfg: dict[str, Any] | None = None,
        test_cfg: dict[str, Any] | None = None,
        *,
        path: str | PathLike | None = None,
    ) -> ModelConfig:
        """Build from the original sections. ``train_cfg``/``test_cfg`` may also be nested inside ``model``
        (the original copies them there). Unknown keys raise ``ConfigError`` naming ``path`` and the key; keys
        of ``train_cfg`` that are not about losses (e.g. optimisation) must be split off by the caller."""
        model = dict(model)
        for key in ("input_dim", "num_classes", "max_seq_len"):
            if key not in model:
                raise ConfigError(path, f"model.{key}", "missing (the original derives it from the dataset section)")
        train = dict(model.pop("train_cfg", None) or {})
        test = dict(model.pop("test_cfg", None) or {})
        train.update(train_cfg or {})
        test.update(test_cfg or {})
        quirks = model.pop("quirks", None) or {}
        for key in IGNORED_MODEL_KEYS:
            model.pop(key, None)
        for key in IGNORED_TRAIN_KEYS:
            if key != "cls_prior_prob":
                train.pop(key, None)
        kwargs = typed_fields(cls, model, path, "model", exclude=("train_cfg", "test_cfg", "quirks"))
        cfg = cls(
            **kwargs,
            train_cfg=TrainLossConfig(**typed_fields(TrainLossConfig, train, path, "train_cfg")),
            test_cfg=TestConfig(**typed_fields(TestConfig, test, path, "test_cfg")),
            quirks=QuirksConfig(**typed_fields(QuirksConfig, quirks, path, "model.quirks")),
        )
        cfg.validate(path)
        return cfg

    @classmethod
    def small(cls, input_dim: int, num_classes: int, max_seq_len: int, channels: int = 128, **overrides) -> ModelConfig:
        """A CPU-friendly preset: the same architecture (6 levels, 3 BiFPN layers, all quirks) with ``channels``
        everywhere, including the query width (the dot head needs query_dim == head_dim: the text embeddings
        must then be ``channels``-d, e.g. the synthetic benchmark's)."""
        dims = {k: channels for k in ("embd_dim", "fpn_dim", "head_dim", "query_dim", "query_fc_channels")}
        cfg = cls(input_dim=input_dim, num_classes=num_classes, max_seq_len=max_seq_len, **{**dims, **overrides})
        cfg.validate()
        return cfg

    def to_dict(self) -> dict[str, Any]:
        """Plain dict in the original layout (``train_cfg``/``test_cfg`` nested, as the original model sees them)."""
        return dataclasses.asdict(self)

    def validate(self, path: str | PathLike | None = None) -> None:
        """Reject what this implementation does not build, naming the key."""
        fixed = {
            "backbone_type": "convnext_stage",
            "fpn_type": "bifpn_convnext",
            "cls_head_type": "dot",
            "cls_head_fn": "scale",
            "reg_head_type": "one_head_multi",
        }
        for key, value in fixed.items():
            if getattr(self, key) != value:
                raise ConfigError(path, f"model.{key}", f"only {value!r} is implemented, got {getattr(self, key)!r}")
        for key in ("input_dim", "num_classes", "max_seq_len", "embd_dim", "query_dim", "query_fc_channels"):
            if int(getattr(self, key)) <= 0:
                raise ConfigError(path, f"model.{key}", "must be a positive integer")
        if self.embd_dim != self.fpn_dim or self.fpn_dim != self.head_dim:
            raise ConfigError(path, "model.fpn_dim", "embd_dim, fpn_dim and head_dim must be equal for this model")
        if self.head_dim != self.query_dim:
            raise ConfigError(path, "model.head_dim", "the dot head needs head_dim == query_dim (spec §3.7)")
        if self.num_levels != 6:
            raise ConfigError(path, "model.backbone_arch", "the BiFPN neck is built for exactly 6 levels (arch[-1]=5)")
        if len(self.convnext_depths) != self.backbone_arch[-1]:
            raise ConfigError(path, "model.convnext_depths", f"needs {self.backbone_arch[-1]} entries (one per stage)")
        if self.scale_factor != 2:
            raise ConfigError(path, "model.scale_factor", "the neck's up/down-sampling assumes 2")
        if len(self.regression_range) != self.num_levels:
            raise ConfigError(path, "model.regression_range", f"needs {self.num_levels} (lo, hi) pairs")
        if self.fpn_start_level != 0:
            raise ConfigError(path, "model.fpn_start_level", "only 0 is implemented")
        if self.head_num_layers != 3 or self.head_kernel_size % 2 != 1:
            raise ConfigError(path, "model.head_num_layers", "heads are built with 3 layers and an odd kernel")
        if self.fpn_kernel_size % 2 != 1 or self.embd_kernel_size % 2 != 1:
            raise ConfigError(path, "model.fpn_kernel_size", "ConvNeXt kernels must be odd")
        if self.max_seq_len % self.max_div_factor != 0:
            raise ConfigError(path, "model.max_seq_len", f"must be divisible by {self.max_div_factor}")
        self.train_cfg.validate(path)
        self.test_cfg.validate(path)
