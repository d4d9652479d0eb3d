"""nbgrader configuration of the course "CNN 手写体识别".

Loaded by ``python -m grader`` (see grader/course.py) and by the ``nbgrader`` command
when it runs with ``--config grader/nbgrader_config.py``.

Layout: ``solutions/{lab}/{lab}.ipynb`` is nbgrader's *source* (the only place lab content
is edited); ``notebooks/{lab}/{lab}.ipynb`` is the generated student *release*.
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets)

COURSE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.course_id = "cnn-handwriting"
c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# The stubs students see where a solution was removed.
c.ClearSolutions.code_stub = {"python": "# >>>填写<<<\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = ">>>填写<<< 请在此处用自己的话写下你的回答（双击本单元格编辑）。"

# Student versions carry no outputs and are generated without touching a gradebook.
c.ClearOutput.enabled = True

# Files the labs write next to the notebook (lab 5's Kaggle submission) are not course material:
# never copy them into the student release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "submission.csv"]
