"""Post-processing: NMS over decoded candidates (numpy on CPU, CuPy kernel on GPU)."""

from unimd_lib.post.nms import batched_nms, batched_nms_flat, batched_nms_videos, cap_per_label, nms_flat

__all__ = ["batched_nms", "batched_nms_flat", "batched_nms_videos", "cap_per_label", "nms_flat"]
