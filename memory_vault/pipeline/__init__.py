"""Pipeline: the runs over the stages: a sync as plan, capture, commit, push, record, under
the run lock; `init`; the vault opened for reading."""
