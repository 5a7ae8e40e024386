"""Official UniMD evaluation protocols, bit-exact with the original evaluators and vectorised.

* ``detection_gt`` / ``detection_map`` / ``detection_match``: ANETdetection mAP and top-k× recall (ActivityNet-1.3,
  Ego4D-MQ, Charades segment mAP), ranked with ``post.ranking`` (numpy's tie order, shared with the ANet fusion);
* ``charades_frames``: Charades official per-frame mAP from segments;
* ``nlq``: Ego4D NLQ recall; ``recall``: Charades-STA and ActivityNet-Captions recall;
* ``protocols``: name → (prediction reader, evaluator), used by ``unimd evaluate``.

Array work goes through ``xp`` (numpy or CuPy, ``backend=``) with identical results; rankings whose tie order
must be numpy's and order-sensitive float sums stay on the host.
"""
