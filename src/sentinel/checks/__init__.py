"""Production checks: what a customer checks on each delivered image, computed on real pixels.

Unlike the smoke suite's FID and CLIP (random metric networks), these need no trained weights from a
hub, so they are real numbers even in the default suite: OpenCV's bundled Haar face detector,
CIELAB colour science from scikit-image, and perceptual hashes. Definitions, thresholds and the
per-category rules: rubrics/workload-checks-v1.md. Entry point: `checks.run.check_model`.
"""
