"""Melodic intervals: their sizes, the codes the rules use, leap outcomes.

Sizes are in semitones. `detect_sequential_interval` (and the batched
`melody_features.sequential_interval`) returns either a size or one of the
negative codes below; leap detection returns a LEAP_* outcome or 0.
"""

# Interval sizes in semitones.
HALFSTEP = 1
SECOND = 2
THIRD = 4
FOURTH = 5
FIFTH = 7
SIXTH = 9
SEVENTH = 11
OCTAVE = 12
# Minor third: the tonic-to-third step of a minor key.
MINOR_THIRD = 3

# Codes that `detect_sequential_interval` returns instead of a semitone count.
# Negative so that they never collide with a real interval. The original
# names say "third or fifth", but the notes they test are the tonic and the
# fifth of the key.
REST_INTERVAL = -1
HOLD_INTERVAL = -1.5
REST_INTERVAL_AFTER_THIRD_OR_FIFTH = -2
HOLD_INTERVAL_AFTER_THIRD_OR_FIFTH = -2.5
# A third up or down from the tonic or the third of the key.
IN_KEY_THIRD = -3
# A fifth up or down from the tonic or the fifth of the key.
IN_KEY_FIFTH = -5

# Direction of a melodic leap (and of the pending, unresolved leap).
ASCENDING = 1
DESCENDING = -1

# Outcomes of leap detection (0 = nothing happened).
LEAP_RESOLVED = 1
LEAP_DOUBLED = -1
