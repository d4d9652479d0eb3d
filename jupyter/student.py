"""Jupyter configuration of the student's view (`make lab`), loaded with `jupyter lab --config`.

Only this server reads it; the user's own ~/.jupyter configuration stays as it is.
- nbgrader: only Validate. The instructor tools (Formgrader, Create Assignment, the course
  list) and the assignment list (it needs an nbgrader exchange, which this course does not
  use: students hand in the .ipynb file) are switched off, both their server extensions here
  and their JupyterLab plugins in student/page_config.json.
- Interface language: Chinese by default (student/overrides.json); a student who picks another
  language under Settings → Language keeps it (user settings win over these defaults).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

c = get_config()  # noqa: F821 (provided by traitlets)

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
    "nbgrader.server_extensions.assignment_list": False,
}
# Folder with overrides.json (default settings) and page_config.json (disabled plugins).
c.LabApp.app_settings_dir = os.path.join(HERE, "student")
