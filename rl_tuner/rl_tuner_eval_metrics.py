"""Magenta's `rl_tuner_eval_metrics` names, re-exported from their homes.

Code written against Magenta's RL Tuner imports this module; the package
itself imports the homes instead:

  * the statistics of compositions (the fast path), the text report and the
    statistic keys: `rl_tuner.evaluation.statistics`,
  * the paper's Table 1 of a stat_dict, its JSON and Markdown:
    `rl_tuner.reports.table1`.

The one-note-at-a-time computation the fast path is tested against is a
test oracle, `rl_tuner.testing.reference_statistics`, not re-exported here:
production code never imports the oracles.

The original's note-by-note helpers (`add_leap_stats`, ...) raise
NotApplicableError naming the replacement (BUILD.md).
"""

from rl_tuner.evaluation import statistics
from rl_tuner.magenta import not_applicable
from rl_tuner.reports import table1

# The statistics (rl_tuner.evaluation.statistics).
AUTOCORRELATION_KEYS = statistics.AUTOCORRELATION_KEYS
INTERVAL_STAT_CODES = statistics.INTERVAL_STAT_CODES
COUNT_KEYS = statistics.COUNT_KEYS
EXTRA_COUNT_KEYS = statistics.EXTRA_COUNT_KEYS
PER_COMPOSITION_KEYS = statistics.PER_COMPOSITION_KEYS
DEFAULT_CHUNK_SIZE = statistics.DEFAULT_CHUNK_SIZE
compute_composition_stats_for_compositions = (
    statistics.compute_composition_stats_for_compositions)
compute_composition_stats = statistics.compute_composition_stats
get_stat_dict_string = statistics.get_stat_dict_string

# Table 1 of the paper (rl_tuner.reports.table1).
TABLE1_ROWS = table1.TABLE1_ROWS
EXTRA_ROWS = table1.EXTRA_ROWS
PAPER_TABLE1 = table1.PAPER_TABLE1
ORIGINAL_CODE_TABLE1 = table1.ORIGINAL_CODE_TABLE1
PAPER_MODEL_NAMES = table1.PAPER_MODEL_NAMES
table1_summary = table1.table1_summary
json_ready = table1.json_ready
table1_to_json = table1.table1_to_json
table1_markdown = table1.table1_markdown

# The original's note-by-note helpers raise NotApplicableError (BUILD.md).
__getattr__ = not_applicable.module_getattr(__name__,
                                            not_applicable.EVAL_METRICS)
