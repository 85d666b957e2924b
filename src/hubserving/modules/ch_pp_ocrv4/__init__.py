"""The built-in ch_pp-ocrv4 module (PP-OCRv4 on onnxruntime)."""
