"""Post-processing: NMS over decoded candidates (numpy on CPU, CuPy kernel on GPU), the rankings with numpy's
tie order (``ranking``) and the ANet external-classifier fusion (``fusion``). Arrays only: no model, no protocol."""

from unimd_lib.post.nms import batched_nms, batched_nms_flat, batched_nms_videos, cap_per_label, nms_flat

__all__ = ["batched_nms", "batched_nms_flat", "batched_nms_videos", "cap_per_label", "nms_flat"]
