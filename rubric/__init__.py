"""The 35-point rubric as data, the scoring engine and its reports."""
