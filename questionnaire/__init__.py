"""The Phase 9 question bank, the answers model and the job-type decision tree.

Public facade: load the bank, validate answers, and read answers files. The copier.yml generator
(:mod:`jobforge.questionnaire.copier_gen`) and the recommender
(:mod:`jobforge.questionnaire.recommend`) are imported from their own modules.
"""

from .bank import Bank, Option, Question, load_bank
from .model import Answers, Schedule
from .validation import (
    answer_errors,
    load_answers,
    read_answers_file,
    validate_answers,
)

__all__ = [
    "Answers",
    "Bank",
    "Option",
    "Question",
    "Schedule",
    "answer_errors",
    "load_answers",
    "load_bank",
    "read_answers_file",
    "validate_answers",
]
