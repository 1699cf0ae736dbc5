"""codec-bench: evaluation and listening-test suite for neural speech codecs."""

__version__ = "0.1.0"
