"""The Phase 9 question bank, the answers model and the job-type decision tree."""
