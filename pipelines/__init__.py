"""Item pipelines: normalise, validate, dedupe, store; and the archive schema and migrations."""
