"""Attack evaluation: how much does a defense reduce attack success, and what does it cost?

Targets speak the `Classifier` protocol (texts -> label scores). A `DefendedClassifier`
puts any `Purifier` in front of a target. TextAttack lives in `textattack_adapter` only
(imported lazily: it is heavy); PromptAttack files are replayed by `promptattack`.
"""
