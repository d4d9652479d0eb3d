"""Jupyter configuration of the instructor's view (`make lab-instructor`).

Everything nbgrader offers is on: Formgrader, Create Assignment, Validate, the course and
assignment lists. The server runs in grader/ so that nbgrader finds grader/nbgrader_config.py
(course root, solutions/ as source, notebooks/ as release).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

c = get_config()  # noqa: F821 (provided by traitlets)

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.formgrader": True,
    "nbgrader.server_extensions.course_list": True,
    "nbgrader.server_extensions.assignment_list": True,
}
c.LabApp.app_settings_dir = os.path.join(HERE, "instructor")
