"""The built-in ocr_det module: PaddleOCR's hubserving ocr_det, on PP-OCRv4 and onnxruntime."""
