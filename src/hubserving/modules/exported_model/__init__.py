"""The built-in ``exported_model`` module: serve a folder of exported Paddle Inference or ONNX files.

Importing this package (or ``detect``) imports neither numpy nor a framework; ``runtime.open_model``
imports the one runtime it needs.
"""
