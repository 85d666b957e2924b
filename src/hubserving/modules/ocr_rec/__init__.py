"""The built-in ocr_rec module: PaddleOCR's hubserving ocr_rec, on PP-OCRv4 and onnxruntime."""
