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

__all__ = ["TEST_TYPES", "RatingError", "Scale", "TestType", "get_test_type", "min_trial_ms"]


def min_trial_ms(definition) -> dict[str, float]:
    """Trial id -> the time (ms) below which it cannot have been heard (the test type's bound on its audio);
    :func:`listening_test.screening.fast_trial_problems` screens on it."""
    kind = get_test_type(definition.type)
    return {t.id: 1000 * kind.min_trial_s(len(t.stimuli), definition.item(t.item).duration_s)
            for t in definition.trials}
