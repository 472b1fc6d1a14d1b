"""The benchmark's cases, one module each; every one imports the harness (bench/harness.py
and bench/workloads.py), never run.py nor another case, and adds its figures to Results.

Each module's `measure(tmp, results, plan)` builds its data under `tmp`, derives its repeats
from the Plan the command line asked for, and reports through `results.add`; its limits are
in bench/targets.py, not here.
"""
