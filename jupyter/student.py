"""Jupyter configuration of the student's view (`make lab`), loaded with `jupyter lab --config`.

Only this server reads it; the user's own ~/.jupyter configuration stays as it is.
- nbgrader: Validate only. The instructor tools (Formgrader, Create Assignment, the course
  list) are switched off, their server extensions here and their JupyterLab plugins in
  student/page_config.json. The assignment list (fetch / submit through an nbgrader exchange)
  is on only with `make lab EXCHANGE=/path/to/exchange` (student-exchange/page_config.json);
  otherwise students hand in the .ipynb file as their teacher asks.
- Interface language: Chinese by default (student/overrides.json); a language picked under
  Settings → Language (设置 → 语言) is a user setting and wins over this default.
- Validate's own nbgrader settings: student/nbgrader_config.py (found through
  JUPYTER_CONFIG_PATH, which the Makefile sets to jupyter/student).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
EXCHANGE = os.environ.get("CNN_COURSE_EXCHANGE", "")

c = get_config()  # noqa: F821 (provided by traitlets)

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
    "nbgrader.server_extensions.assignment_list": bool(EXCHANGE),
}
# Folder with overrides.json (default settings) and page_config.json (disabled plugins).
c.LabApp.app_settings_dir = os.path.join(HERE, "student-exchange" if EXCHANGE else "student")
