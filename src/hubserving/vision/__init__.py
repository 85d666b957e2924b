"""Helpers the image modules share: decoding requests' images, checking options, drawing results.

Needs numpy, Pillow and OpenCV; every image extra (``hubserving[ocr]``, ``[face]``, ``[classification]``)
installs them.
"""
