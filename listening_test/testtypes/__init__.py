"""The kinds of listening test (MUSHRA, ACR/MOS, ...) as objects in one registry, :data:`TEST_TYPES`.

A new kind subclasses :class:`TestType` and registers an instance here (or through the
``codec_bench.listening_tests`` entry-point group).
"""

from listening_test.testtypes.base import TEST_TYPES, RatingError, Scale, TestType, get_test_type

TEST_TYPES.register("mushra", "listening_test.testtypes.mushra:MUSHRA")
TEST_TYPES.register("mos", "listening_test.testtypes.acr:ACR", aliases=("acr",))
TEST_TYPES.register("ccr", "listening_test.testtypes.pairs:CCR")
TEST_TYPES.register("dcr", "listening_test.testtypes.pairs:DCR")
TEST_TYPES.register("ab", "listening_test.testtypes.pairs:AB")
TEST_TYPES.register("abx", "listening_test.testtypes.pairs:ABX")

__all__ = ["TEST_TYPES", "RatingError", "Scale", "TestType", "get_test_type"]
