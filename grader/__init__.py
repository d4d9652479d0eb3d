"""Instructor tooling of the course, a thin layer over nbgrader's own API.

``python -m grader release`` generates the student notebooks (``notebooks/``) from the
instructor's source notebooks (``solutions/``).
"""
