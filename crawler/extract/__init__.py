"""Page extraction: pure functions from a response to fields, testable without the engine."""
