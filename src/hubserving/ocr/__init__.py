"""PP-OCRv4 on onnxruntime, shared by the OCR modules (``ch_pp-ocrv4``, and PaddleOCR's ``ocr_system``,
``ocr_det``, ``ocr_rec``, ``ocr_cls``): one implementation, several faces.

``stages`` loads each network alone (detection, direction, recognition), ``pipeline`` chains them,
``geometry`` fits images and cuts out lines, ``gpu`` checks ``use_gpu``, ``paddleocr`` holds what
PaddleOCR's four modules share. Needs the ``ocr`` extra: ``pip install "hubserving[ocr]"``.
"""
