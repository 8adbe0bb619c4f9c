"""Text-prior sentences (spec §6), exactly as the official `get_texts` builds them."""
from __future__ import annotations

NORMAL_STATES = ["{}", "flawless {}", "perfect {}", "unblemished {}",
                 "{} without flaw", "{} without defect", "{} without damage"]
ANOMALOUS_STATES = ["damaged {}", "{} with flaw", "{} with defect", "{} with damage"]
TEMPLATES = [
    "a cropped photo of the {}.", "a cropped photo of a {}.",
    "a close-up photo of a {}.", "a close-up photo of the {}.",
    "a bright photo of a {}.", "a bright photo of the {}.",
    "a dark photo of a {}.", "a dark photo of the {}.",
    "a jpeg corrupted photo of a {}.", "a jpeg corrupted photo of the {}.",
    "a blurry photo of the {}.", "a blurry photo of a {}.",
    "a photo of the {}.", "a photo of a {}.",
    "a photo of a small {}.", "a photo of the small {}.",
    "a photo of a large {}.", "a photo of the large {}.",
    "a photo of a {} for visual inspection.", "a photo of the {} for visual inspection.",
    "a photo of a {} for anomaly detection.", "a photo of the {} for anomaly detection.",
]
# CIFAR-10 classes + "animal": matched case-sensitively AFTER '_' -> ' ', like the original.
SPECIAL_CATEGORIES = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
                      "animal"}


def sentences(category: str) -> tuple[list[str], list[str]]:
    """(normal, anomalous) sentences: 154/88 in general, 1/1 for the special categories."""
    c = category.replace("_", " ")
    if c in SPECIAL_CATEGORIES:
        return [f"a photo of {c} for anomaly detection."], [f"a photo without {c} for anomaly detection."]
    normal = [t.format(s.format(c)) for s in NORMAL_STATES for t in TEMPLATES]
    anomalous = [t.format(s.format(c)) for s in ANOMALOUS_STATES for t in TEMPLATES]
    return normal, anomalous
