"""The built-in face_detection module (OpenCV ResNet-10 SSD on cv2.dnn)."""
