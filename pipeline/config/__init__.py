"""Stage 1, config: config/*.yaml as frozen, validated models.

`load_project(root)` returns a `ProjectConfig` or raises the first problem;
`collect_problems(root)` lists every problem at once (for `pulse validate`).
The models of each file live in the module named after it: `settings`
(pulse.yaml), `sources`, `kpis`, `reports`, `okrs`, `delivery`.
"""

from .kpis import Direction, KpiConfig, Thresholds, Unit
from .project import ProjectConfig, collect_problems, load_project
from .reports import ReportConfig
from .settings import ProjectSettings, Theme
from .sources import ColumnSpec, ColumnType, SourceConfig
from .validation import did_you_mean

__all__ = ["ColumnSpec", "ColumnType", "Direction", "KpiConfig", "ProjectConfig", "ProjectSettings", "ReportConfig",
           "SourceConfig", "Theme", "Thresholds", "Unit", "collect_problems", "did_you_mean", "load_project"]
