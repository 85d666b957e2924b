"""The built-in ocr_cls module: PaddleOCR's hubserving ocr_cls, on PP-OCRv4 and onnxruntime."""
