"""The three PP-OCRv4 networks as ``rapidocr-onnxruntime`` ships them, and its settings for each."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

INSTALL_HINT = 'install it with: pip install "hubserving[ocr]"'

Stage = Literal["det", "cls", "rec"]
MODEL_FILES: dict[Stage, str] = {
    "det": "ch_PP-OCRv4_det_infer.onnx",  # DB text-line detection
    "cls": "ch_ppocr_mobile_v2.0_cls_infer.onnx",  # 0 / 180 degree direction of a line
    "rec": "ch_PP-OCRv4_rec_infer.onnx",  # SVTR-LCNet recognition; its character table is in its metadata
}

# PaddleOCR's detection defaults (the DB post-processing); the thresholds are set again per call.
DETECTION: dict[str, Any] = {
    "limit_type": "max",  # own resolution; rapidocr scales a longer side over 2000 px down to 2000
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
    "thresh": 0.3,
    "box_thresh": 0.6,
    "max_candidates": 1000,
    "unclip_ratio": 1.5,
    "use_dilation": False,
    "score_mode": "fast",
}
CLASSIFICATION: dict[str, Any] = {
    "cls_image_shape": [3, 48, 192],
    "cls_batch_num": 6,
    "cls_thresh": 2.0,  # never turn a line inside rapidocr: the pipeline turns lines by its own threshold
    "label_list": ["0", "180"],
}
RECOGNITION: dict[str, Any] = {"rec_img_shape": [3, 48, 320], "rec_batch_num": 1}
SETTINGS: dict[Stage, dict[str, Any]] = {"det": DETECTION, "cls": CLASSIFICATION, "rec": RECOGNITION}


def model_file(stage: Stage) -> Path:
    """The ONNX file of ``stage`` in ``rapidocr_onnxruntime/models``."""
    try:
        import rapidocr_onnxruntime
    except ImportError as error:
        raise ImportError(f"PP-OCRv4 needs rapidocr-onnxruntime ({error}); {INSTALL_HINT}") from error
    path = Path(rapidocr_onnxruntime.__file__).parent / "models" / MODEL_FILES[stage]
    if not path.is_file():
        raise ImportError(f"rapidocr-onnxruntime lacks {path}; reinstall it: {INSTALL_HINT}")
    return path


def stage_config(stage: Stage, num_threads: int, use_cuda: bool) -> dict[str, Any]:
    """rapidocr's settings for one stage (its config.yaml section)."""
    return {
        **SETTINGS[stage],
        "model_path": str(model_file(stage)),
        "intra_op_num_threads": num_threads,
        "inter_op_num_threads": num_threads,
        "use_cuda": use_cuda,
    }
