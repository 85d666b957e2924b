"""The built-in efficientnet_lite0_imagenet module (EfficientNet-Lite0 on torch)."""
