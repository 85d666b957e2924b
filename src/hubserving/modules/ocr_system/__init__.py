"""The built-in ocr_system module: PaddleOCR's hubserving ocr_system, on PP-OCRv4 and onnxruntime."""
